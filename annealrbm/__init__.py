"""annealrbm: train Boltzmann machines (RBMs, Boltzmann machines on any graph, DBMs, DBNs)
with annealing-based samplers.

    from annealrbm import RBM, Trainer, metrics
    from annealrbm.data import datasets
    rbm = RBM(n_visible=20, n_hidden=8, seed=0)
    history = Trainer(rbm, backend="sa", epochs=200, seed=0).fit(datasets.patterns20())
    metrics.log_likelihood(rbm, datasets.patterns20())
"""
from annealrbm.data import datasets
from annealrbm import metrics
from annealrbm.models.rbm import RBM
from annealrbm.models import DBM, DBN, BoltzmannMachine, load_model
from annealrbm.training.trainer import History, Trainer, TrainingInterrupted

__version__ = "0.1.0"
__all__ = ["RBM", "BoltzmannMachine", "DBM", "DBN", "load_model", "Trainer", "History", "TrainingInterrupted", "datasets", "metrics", "__version__"]

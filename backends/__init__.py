"""Interchangeable negative-phase samplers for RBM training, and their registry.

    from annealrbm import backends
    backends.available()            # ['cd', 'pcd', 'gibbs', 'sa', 'exact', 'qpu', 'bipartite-sa', 'pt', 'qpu-mock']
    backends.describe("sa")
    backend = backends.make("sa", num_reads=200)
    backend = backends.make(my_dimod_sampler, num_reads=50)   # any dimod.Sampler
"""
from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.boltzmann_check import SamplerTemperatureWarning
from annealrbm.backends.bipartite_annealer import BipartiteAnnealing, BipartiteAnnealingSampler
from annealrbm.backends.threaded_reads import ThreadedReadsComposite
from annealrbm.backends.dimod_backends import DimodSamplerBackend, ExactSampler, SimulatedAnnealing, hot_beta
from annealrbm.backends.gibbs import ContrastiveDivergence, LongRunGibbs, PersistentContrastiveDivergence
from annealrbm.backends.qpu import EmulatedQPUSampler, QPUBudgetExceeded, QPUSampler, QPUWarning, mock_qpu, solver_summary
from annealrbm.backends.qpu_connection import QPUConfigurationError, QPUUnavailable, connect, redact, token_is_configured
from annealrbm.backends.registry import available, describe, make, option_help, options, register
from annealrbm.backends.retry import RetryComposite, RetryPolicy, SamplerFault, SamplerUnavailable
from annealrbm.backends.scaling import RangeScaleComposite
from annealrbm.backends.tempering import ParallelTempering

__all__ = [
    "Backend",
    "NegativeSamples",
    "SamplerTemperatureWarning",
    "DimodSamplerBackend",
    "SimulatedAnnealing",
    "ExactSampler",
    "ContrastiveDivergence",
    "PersistentContrastiveDivergence",
    "LongRunGibbs",
    "ParallelTempering",
    "available",
    "describe",
    "options",
    "option_help",
    "make",
    "register",
    "hot_beta",
    "QPUSampler",
    "EmulatedQPUSampler",
    "mock_qpu",
    "QPUWarning",
    "QPUBudgetExceeded",
    "QPUConfigurationError",
    "QPUUnavailable",
    "connect",
    "redact",
    "token_is_configured",
    "solver_summary",
    "BipartiteAnnealingSampler",
    "BipartiteAnnealing",
    "ThreadedReadsComposite",
    "RetryComposite",
    "RangeScaleComposite",
    "RetryPolicy",
    "SamplerFault",
    "SamplerUnavailable",
]

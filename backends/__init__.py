"""Interchangeable negative-phase samplers for RBM training, and their registry.

    from annealrbm import backends
    backends.available()            # ['cd', 'pcd', 'gibbs', 'sa', 'exact', 'qpu', 'bipartite-sa', 'pt', 'qpu-mock']
    backends.describe("sa")
    backend = backends.make("sa", num_reads=200)
    backend = backends.make(my_dimod_sampler, num_reads=50)   # any dimod.Sampler
"""
from .base import Backend, NegativeSamples
from .boltzmann_check import SamplerTemperatureWarning
from .bipartite_annealer import BipartiteAnnealing, BipartiteAnnealingSampler
from .threaded_reads import ThreadedReadsComposite
from .dimod_backends import DimodSamplerBackend, ExactSampler, SimulatedAnnealing, hot_beta
from .gibbs import ContrastiveDivergence, LongRunGibbs, PersistentContrastiveDivergence
from .qpu import EmulatedQPUSampler, QPUBudgetExceeded, QPUSampler, QPUWarning, mock_qpu, solver_summary
from .qpu_connection import QPUConfigurationError, QPUUnavailable, connect, redact, token_is_configured
from .registry import available, describe, make, option_help, options, register
from .retry import RetryComposite, RetryPolicy, SamplerFault, SamplerUnavailable
from .scaling import RangeScaleComposite
from .tempering import ParallelTempering

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

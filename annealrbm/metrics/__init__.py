"""How good a model is and how faithful its sampler was: exact log Z and log-likelihoods where
enumeration is feasible (`likelihood`), forward and reverse AIS where it is not (`ais`), and
sampler fidelity against exact statistics (`fidelity`)."""
from annealrbm.metrics.ais import ais_log_partition_function, reverse_ais_log_partition_function
from annealrbm.metrics.fidelity import effective_beta, sampler_fidelity
from annealrbm.metrics.likelihood import (MAX_ENUMERATED_UNITS, all_binary_states, estimated_log_partition_function,
                                          exact_is_feasible, exact_moments, kl_divergence, log_likelihood,
                                          log_likelihood_bounds, log_partition_function, mean_negative_free_energy,
                                          reconstruction_accuracy, reconstruction_error)

__all__ = ["ais_log_partition_function", "reverse_ais_log_partition_function", "effective_beta", "sampler_fidelity",
           "MAX_ENUMERATED_UNITS", "all_binary_states", "estimated_log_partition_function", "exact_is_feasible",
           "exact_moments", "kl_divergence", "log_likelihood", "log_likelihood_bounds", "log_partition_function",
           "mean_negative_free_energy", "reconstruction_accuracy", "reconstruction_error"]

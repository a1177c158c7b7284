"""Optimisers, learning-rate schedules and parameter averaging: how a gradient becomes an update."""
from annealrbm.optim.averaging import ParameterAverage
from annealrbm.optim.optimizers import Adam, MomentumSGD, parameters, with_weight_decay
from annealrbm.optim.schedules import (DEFAULT_BASE_RATES, DecayingRate, LearningRate, as_schedule,
                                       default_learning_rate, piecewise_constant)

__all__ = ["Adam", "MomentumSGD", "ParameterAverage", "parameters", "with_weight_decay", "DecayingRate", "LearningRate",
           "as_schedule", "default_learning_rate", "piecewise_constant", "DEFAULT_BASE_RATES"]

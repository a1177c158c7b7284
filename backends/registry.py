"""Backends by name: list them, describe them, build them with options."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import dimod

from annealrbm.backends.base import Backend
from annealrbm.backends.bipartite_annealer import BipartiteAnnealing
from annealrbm.backends.dimod_backends import DimodSamplerBackend, ExactSampler, SimulatedAnnealing
from annealrbm.backends.gibbs import ContrastiveDivergence, LongRunGibbs, PersistentContrastiveDivergence
from annealrbm.backends.qpu import EmulatedQPUSampler, QPUSampler, mock_qpu
from annealrbm.backends.tempering import ParallelTempering

_FACTORIES: dict[str, tuple[Callable[..., Backend], str]] = {}


def register(name: str, factory: Callable[..., Backend], description: str) -> None:
    """Make `factory(**options)` available as backend `name`."""
    _FACTORIES[name] = (factory, description)


def available() -> list[str]:
    """Registered backend names, in registration order."""
    return list(_FACTORIES)


def describe(name: str) -> str:
    """One-line description of a registered backend."""
    return _lookup(name)[1]


def options(name: str) -> dict[str, Any]:
    """A registered backend's options and their defaults (inspect.Parameter.empty: required)."""
    factory, _ = _lookup(name)
    return {key: parameter.default for key, parameter in inspect.signature(factory).parameters.items()
            if parameter.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}


def option_help(name: str) -> dict[str, str]:
    """One line per option, from the backend's docstring where it names the option ('name: ...')."""
    factory, _ = _lookup(name)
    text = inspect.getdoc(factory if isinstance(factory, type) else factory) or ""
    if isinstance(factory, type):
        text += "\n" + (inspect.getdoc(factory.__init__) or "")
    lines = {}
    for line in text.splitlines():
        head, sep, rest = line.strip().partition(": ")
        for key in (part.strip() for part in head.split(",")):
            if sep and key in options(name) and key not in lines:
                lines[key] = rest.strip()
    return lines


def _lookup(name: str) -> tuple[Callable[..., Backend], str]:
    try:
        return _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; choose one of: {', '.join(available())}"
        ) from None


def make(backend: str | Backend | dimod.Sampler, **options: Any) -> Backend:
    """A Backend from a registered name (with options), a Backend, or any dimod.Sampler."""
    if isinstance(backend, Backend):
        if options:
            raise ValueError("options can only be given with a backend name or a dimod.Sampler")
        return backend
    if isinstance(backend, dimod.Sampler):
        return DimodSamplerBackend(backend, **options)
    if not isinstance(backend, str):
        raise ValueError(
            f"backend must be a name, a Backend or a dimod.Sampler, got {type(backend).__name__}"
        )
    factory, _ = _lookup(backend)
    accepted = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [key for key in options if key not in accepted and not takes_any]
    if unknown:
        raise ValueError(
            f"backend {backend!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(accepted) or 'none'}"
        )
    try:
        return factory(**options)
    except TypeError as exc:  # an option the factory's inner constructor does not take
        raise ValueError(f"backend {backend!r}: {exc}") from None


for _cls in (ContrastiveDivergence, PersistentContrastiveDivergence, LongRunGibbs, SimulatedAnnealing, ExactSampler,
             QPUSampler, BipartiteAnnealing, ParallelTempering):
    register(_cls.name, _cls, _cls.description)
register(EmulatedQPUSampler.name, mock_qpu, EmulatedQPUSampler.description)

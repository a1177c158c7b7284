"""Connecting to a D-Wave QPU through Leap, the Ocean way, with errors a user can act on.

Configuration is read as dwave-cloud-client reads it: explicit options first, then the
DWAVE_API_* environment variables, then the dwave.conf profile. The API token is passed
straight to the client and never kept, printed or written by annealrbm; `redact` removes it
from any text that is about to be shown.
"""
from __future__ import annotations

import os
import re
from typing import Any

NO_TOKEN_MESSAGE = (
    "no D-Wave API token configured: set DWAVE_API_TOKEN or run `dwave config create`; "
    "to train without a QPU use --backend sa, or --backend qpu-mock to dry-run the QPU path offline"
)

# Bounded network behaviour: an unreachable endpoint fails within seconds, not minutes.
CONNECT_OPTIONS = {"request_timeout": 4, "http_retry_total": 1, "http_retry_backoff_factor": 0.2}

_secrets: set[str] = set()


class QPUConfigurationError(ValueError):
    """The QPU cannot be used as configured (no token, no such solver, model does not fit)."""


class QPUUnavailable(RuntimeError):
    """The QPU service could not be reached or refused the request."""


def redact(text: str) -> str:
    """`text` with every D-Wave token annealrbm has seen (and DWAVE_API_TOKEN) replaced."""
    secrets = set(_secrets)
    if os.environ.get("DWAVE_API_TOKEN"):
        secrets.add(os.environ["DWAVE_API_TOKEN"])
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "<redacted token>")
    return re.sub(r"(token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", r"\1<redacted>", text, flags=re.IGNORECASE)


def resolve_config(
    solver: str | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    profile: str | None = None,
    config_file: str | None = None,
) -> dict[str, Any]:
    """The client configuration (explicit options over DWAVE_API_* over dwave.conf).

    Raises QPUConfigurationError with NO_TOKEN_MESSAGE when no token is configured anywhere.
    """
    from dwave.cloud.config import load_config

    try:
        config = load_config(
            config_file=config_file, profile=profile, solver=solver, region=region, endpoint=endpoint
        )
    except Exception as exc:  # malformed dwave.conf, unknown profile
        raise QPUConfigurationError(f"cannot read the D-Wave configuration: {redact(str(exc))}") from None
    token = config.get("token")
    if not token:
        raise QPUConfigurationError(NO_TOKEN_MESSAGE)
    _secrets.add(token)
    return {key: value for key, value in config.items() if value is not None}


def token_is_configured(profile: str | None = None, config_file: str | None = None) -> bool:
    """Whether a token is configured, without revealing it."""
    try:
        resolve_config(profile=profile, config_file=config_file)
    except QPUConfigurationError:
        return False
    return True


def connect(**options: Any):
    """A DWaveSampler for the configured solver, failing fast with one clear line.

    `options` are solver, region, endpoint, profile, config_file.
    """
    from dwave.system import DWaveSampler

    config = resolve_config(**options)
    try:
        return DWaveSampler(**{**CONNECT_OPTIONS, **config})
    except Exception as exc:
        where = config.get("endpoint") or config.get("region") or "the default Leap region"
        reason = redact(str(exc)) or type(exc).__name__
        if "solver" in type(exc).__name__.lower() or "solver" in reason.lower():
            raise QPUConfigurationError(f"D-Wave solver not available at {where}: {reason}") from None
        raise QPUUnavailable(f"cannot reach D-Wave at {where}: {type(exc).__name__}: {reason}") from None

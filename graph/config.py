"""Configuration: one TOML file (``--config`` or ``COMMERCE_GRAPH_CONFIG``), or the embedded
default of five sandboxes on loopback.

```toml
[server]
api_keys = { "dev-key" = ["orders:read", "orders:write"] }
mode = "sandbox"            # or "production": no GraphiQL, no introspection, masked errors

[providers.akinon]
base_url = "https://seller.example.com"
token = "..."
```

Every ``[server]`` key is checked when the file is read: a key it does not know (a misspelling
such as ``max_cots``) or a value of the wrong kind (``port = "abc"``, ``cors_origins`` as one
string) is a :class:`ConfigError` naming the key, which ``serve`` prints and exits 2 on.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from graph.auth import ALL_SCOPES
from graph.limits import Limits
from providers.model import ProviderName
from providers.settings import unknown_keys

ENV_VAR = "COMMERCE_GRAPH_CONFIG"
DEV_KEY = "dev-key"


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass
class ServerConfig:
    api_keys: dict[str, list[str]] = field(default_factory=dict)
    mode: str = "sandbox"
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)  # max_depth, max_cost, batching, ...
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.mode == "production"


@dataclass
class Config:
    server: ServerConfig
    providers: dict[str, dict[str, Any]]
    embedded: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """The config a file's tables give: every ``[server]`` key known and of its kind, or a
        :class:`ConfigError` naming the key (never its value when it may be a secret)."""
        sections = sorted(set(data) - {"server", "providers"})
        if sections:
            raise ConfigError(
                f"unknown section{'s' * (len(sections) > 1)} {', '.join(sections)}: "
                "a config file has [server] and [providers.NAME] tables"
            )
        if not isinstance(data.get("server", {}), dict):
            raise ConfigError("[server] must be a table of settings")
        server = dict(data.get("server", {}))
        _refuse_unknown("[server]", server, server_keys())
        keys = server.pop("api_keys", {})
        if not isinstance(keys, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in keys.values()
        ):
            raise ConfigError("[server].api_keys must map each key to a list of scopes")
        unknown = {s for scopes in keys.values() for s in scopes} - set(ALL_SCOPES)
        if unknown:
            raise ConfigError(f"[server].api_keys: unknown scopes {sorted(unknown)}")
        mode = server.pop("mode", "sandbox")
        if mode not in ("sandbox", "production"):
            raise ConfigError('[server].mode must be "sandbox" or "production"')
        providers = data.get("providers", {})
        if not isinstance(providers, dict):
            raise ConfigError("[providers] must be a table of provider sections")
        # [providers.frontpayments] was ignored: the provider answered "not configured".
        _refuse_unknown("[providers]", providers, [p.value for p in ProviderName])
        for name, section in providers.items():
            if not isinstance(section, dict):
                raise ConfigError(f"[providers.{name}] must be a table of settings")
        return cls(
            ServerConfig(
                api_keys=keys,
                mode=mode,
                host=_checked(server, "host", "127.0.0.1"),
                port=_checked(server, "port", 8000),
                cors_origins=_origins(server.pop("cors_origins", [])),
                limits=_limits(server),
                extra={key: _checked(server, key) for key in list(server)},
            ),
            providers,
        )

    @classmethod
    def load(cls, path: str | Path) -> Config:
        try:
            with open(path, "rb") as f:
                return cls.from_dict(tomllib.load(f))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None

    @classmethod
    def from_env(cls, path: str | None = None) -> Config | None:
        """The file named by ``--config`` or the environment; ``None``: use the embedded default."""
        chosen = path or os.environ.get(ENV_VAR)
        return cls.load(chosen) if chosen else None


def _limits(server: dict[str, Any]) -> Limits:
    try:
        return Limits.pop_from(server)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# What a kind of value must be, said as the error says it, and the test of it.
Kind = tuple[str, Callable[[Any], bool]]
_FLAG: Kind = ("true or false", lambda v: type(v) is bool)
_TEXT: Kind = ("a non-empty string", lambda v: isinstance(v, str) and v != "")
_COUNT: Kind = ("a whole number >= 0", lambda v: type(v) is int and v >= 0)
_SECONDS: Kind = ("a number of seconds > 0", lambda v: type(v) in {int, float} and 0 < v < math.inf)
_PORT: Kind = ("a port number from 0 to 65535", lambda v: type(v) is int and 0 <= v <= 65535)

# ``[server]`` keys besides ``api_keys``, ``mode``, ``cors_origins`` and the limits
# (graph/limits.py): each with its kind, checked when the file is read. Those but ``host`` and
# ``port`` are kept in ``ServerConfig.extra`` and read where they are used (a new one must be
# added here, or the file that sets it is refused as misspelt).
KINDS: dict[str, Kind] = {
    "host": _TEXT,
    "port": _PORT,
    "persisted_only": _FLAG,  # graph/apq.py
    "persisted_queries": _TEXT,
    "apq_cache_size": _COUNT,
    "apq_cache_bytes": _COUNT,
    "idempotency_db": _TEXT,  # graph/gateway.py
    "idempotency_retention_s": _SECONDS,
    "idempotency_lease_s": _SECONDS,
    "idempotency_wait_s": _SECONDS,
    "readiness_timeout_s": _SECONDS,  # graph/ops.py
}


def server_keys() -> list[str]:
    """Every key ``[server]`` takes."""
    limits = [f.name for f in fields(Limits)]
    return sorted({"api_keys", "mode", "cors_origins", *limits, *KINDS})


def _refuse_unknown(where: str, given: Collection[str], known: Collection[str]) -> None:
    refused = unknown_keys(where, given, known)
    if refused:
        raise ConfigError(refused)


def _checked(server: dict[str, Any], key: str, default: Any = None) -> Any:
    """``[server].key`` taken out of ``server``, refused unless it is of its kind."""
    if key not in server:
        return default
    value = server.pop(key)
    kind, test = KINDS[key]
    if not test(value):
        raise ConfigError(f"[server].{key} must be {kind}, not {value!r}")
    return value


# What a browser sends as ``Origin``: scheme://host[:port], nothing after it.
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#\s]+$")


def _origins(value: Any) -> list[str]:
    """``cors_origins``: a list of origins (or ``["*"]``), each exactly as a browser sends it in
    ``Origin``; anything else would never match, silently."""
    if isinstance(value, str):
        raise ConfigError(
            "[server].cors_origins must be a list of origins, not a string: "
            f"cors_origins = [{json.dumps(value)}]"
        )
    if not isinstance(value, list):
        raise ConfigError(f"[server].cors_origins must be a list of origins, not {value!r}")
    for origin in value:
        if origin != "*" and not (isinstance(origin, str) and _ORIGIN.match(origin)):
            raise ConfigError(
                "[server].cors_origins: each origin must be scheme://host[:port], without a "
                f'path or a trailing slash (as in "https://app.example.com"), not {origin!r}'
            )
    return list(value)


def embedded(sandboxes: dict[str, tuple[str, dict[str, str]]]) -> Config:
    """The embedded default: each sandbox's URL and credentials, and one development key."""
    return Config(
        ServerConfig(api_keys={DEV_KEY: list(ALL_SCOPES)}),
        {name: {"base_url": url, **credentials} for name, (url, credentials) in sandboxes.items()},
        embedded=True,
    )

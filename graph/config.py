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
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.auth import ALL_SCOPES
from graph.limits import Limits

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
        server = dict(data.get("server", {}))
        keys = server.pop("api_keys", {})
        if not isinstance(keys, dict) or not all(isinstance(v, list) for v in keys.values()):
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
        return cls(
            ServerConfig(
                api_keys=keys,
                mode=mode,
                host=str(server.pop("host", "127.0.0.1")),
                port=int(server.pop("port", 8000)),
                cors_origins=list(server.pop("cors_origins", [])),
                limits=_limits(server),
                extra=server,
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


def embedded(sandboxes: dict[str, tuple[str, dict[str, str]]]) -> Config:
    """The embedded default: each sandbox's URL and credentials, and one development key."""
    return Config(
        ServerConfig(api_keys={DEV_KEY: list(ALL_SCOPES)}),
        {name: {"base_url": url, **credentials} for name, (url, credentials) in sandboxes.items()},
        embedded=True,
    )

"""The gateway's long-lived parts: config, the shared HTTP client, the connectors."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from graph.auth import ApiKeys
from graph.config import Config, ConfigError
from providers.base import Provider
from providers.http import HttpClient
from providers.idempotency import SqliteStore
from providers.model import ProviderName
from providers.place_once import PlaceOnce
from providers.registry import build_all
from providers.resilience import Circuit


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # UP, DEGRADED, CIRCUIT_OPEN, NOT_CONFIGURED
    circuit: str | None = None


class Gateway:
    """Built once per process, by ``create_app``; the Starlette lifespan closes it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.api_keys = ApiKeys(config.server.api_keys)
        self.http = HttpClient()
        self.providers: dict[ProviderName, Provider] = build_all(config.providers, self.http)
        extra = config.server.extra
        self.place_once = PlaceOnce(
            idempotency_store(config),
            lease_s=float(extra.get("idempotency_lease_s", 120.0)),
            wait_s=float(extra.get("idempotency_wait_s", 30.0)),
        )

    def health(self, name: ProviderName) -> Health:
        if name not in self.providers:
            return Health("NOT_CONFIGURED")
        circuit = self.http.circuit(name.value)
        if circuit is Circuit.OPEN:
            return Health("CIRCUIT_OPEN", circuit.value)
        # Half-open: the reset time has passed and the next call is the probe.
        return Health("DEGRADED" if circuit is Circuit.HALF_OPEN else "UP", circuit.value)

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()
        await self.http.close()
        await self.place_once.store.close()


# The embedded sandboxes forget their orders on restart, so their records live in memory too.
DEFAULT_IDEMPOTENCY_DB = "commerce-graph-idempotency.sqlite3"


def idempotency_store(config: Config) -> SqliteStore:
    """``[server].idempotency_db``: a SQLite file (``:memory:`` for none); by default
    ``commerce-graph-idempotency.sqlite3`` in the working directory, or memory when embedded."""
    default = ":memory:" if config.embedded else DEFAULT_IDEMPOTENCY_DB
    path = str(config.server.extra.get("idempotency_db", default))
    retention = float(config.server.extra.get("idempotency_retention_s", 86_400.0))
    try:
        return SqliteStore(path, retention_s=retention)
    except sqlite3.Error as exc:  # a directory that does not exist, a file that is no database
        raise ConfigError(f"[server].idempotency_db: cannot open {path!r}: {exc}") from None

"""The gateway's long-lived parts: config, the shared HTTP client, the connectors."""

from __future__ import annotations

from dataclasses import dataclass

from graph.auth import ApiKeys
from graph.config import Config
from providers.base import Provider
from providers.http import HttpClient
from providers.model import ProviderName
from providers.registry import build_all
from providers.resilience import Circuit


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # UP, DEGRADED, CIRCUIT_OPEN, NOT_CONFIGURED
    circuit: str | None = None


class Gateway:
    """Built once per process; the Starlette lifespan starts and closes it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.api_keys = ApiKeys(config.server.api_keys)
        self.http = HttpClient()
        self.providers: dict[ProviderName, Provider] = build_all(config.providers, self.http)

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

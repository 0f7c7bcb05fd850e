"""``providers``: every provider, whether it is configured, and what it can do."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from graph.auth import CanReadOrders
from graph.context import Info
from graph.types.provider import HealthStatus, ProviderHealth, ProviderInfo
from providers.model import ProviderName
from providers.registry import connector_built


@strawberry.type
class ProvidersQuery:
    @strawberry.field(
        description="Every provider the gateway knows, configured or not.",
        permission_classes=[CanReadOrders],
    )
    def providers(self, info: Info) -> list[ProviderInfo]:
        configured = info.context.loaders.providers
        answer = []
        for name in ProviderName:
            provider = configured.get(name)
            health = info.context.gateway.health(name)
            answer.append(
                ProviderInfo(
                    name=name,
                    configured=provider is not None,
                    built=connector_built(name),
                    capabilities=sorted(
                        provider.capabilities if provider else (), key=lambda c: c.value
                    ),
                    settings=JSON(provider.public_settings()) if provider else None,
                    health=ProviderHealth(
                        status=HealthStatus(health.status), circuit=health.circuit, detail=None
                    ),
                )
            )
        return answer

"""ProviderInfo: what the gateway can do with each provider, and how it is doing."""

from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from graph.types.common import Provider
from providers.base import Capability as CapabilityEnum

strawberry.enum(CapabilityEnum, name="Capability")
Capability = CapabilityEnum


@strawberry.enum
class HealthStatus(enum.Enum):
    UP = "UP"
    DEGRADED = "DEGRADED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    NOT_CONFIGURED = "NOT_CONFIGURED"


@strawberry.type
class ProviderHealth:
    status: HealthStatus
    circuit: str | None
    detail: str | None


@strawberry.type
class ProviderInfo:
    name: Provider
    configured: bool
    built: bool = strawberry.field(description="Whether this gateway has a connector for it.")
    capabilities: list[Capability]
    settings: JSON | None = strawberry.field(description="Non-secret settings: URL, timeout.")
    health: ProviderHealth

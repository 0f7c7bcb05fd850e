"""The per-request context: who asks, the request's loaders, and the gateway's providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from strawberry.types import Info as StrawberryInfo

from graph.auth import Principal
from providers.base import Provider
from providers.model import ProviderName
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from graph.gateway import Gateway


@dataclass
class Context:
    gateway: Gateway
    principal: Principal | None
    loaders: Loaders
    request_id: str
    request: Any = None
    response: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def provider(self, name: ProviderName) -> Provider:
        return self.loaders.provider(name)


Info: TypeAlias = StrawberryInfo[Context, None]

"""From configuration to connectors: one module per provider, found by its config name."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from providers.base import Provider
from providers.http import HttpClient
from providers.model import ProviderName
from providers.settings import ProviderSettings


def connector_built(name: ProviderName) -> bool:
    """Whether this gateway has a connector for the provider yet."""
    return importlib.util.find_spec(f"providers.{name.value}") is not None


def build(name: ProviderName, section: dict[str, Any], http: HttpClient) -> Provider:
    """The connector for ``name``, configured from its ``[providers.<name>]`` section."""
    module = importlib.import_module(f"providers.{name.value}")
    settings = ProviderSettings.parse(name.value, section, module.SETTINGS)
    provider: Provider = module.from_settings(settings, http)
    return provider


def build_all(
    sections: dict[str, dict[str, Any]], http: HttpClient
) -> dict[ProviderName, Provider]:
    return {
        name: build(name, sections[name.value], http)
        for name in ProviderName
        if name.value in sections and connector_built(name)
    }

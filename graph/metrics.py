"""Prometheus metrics: one registry per app, so two apps in one process never mix their counts.

Everything the gateway counts lives on :class:`Metrics`. The graph layer feeds it per GraphQL
request (:meth:`Metrics.observe_request`), the shared upstream client per call
(:meth:`Metrics.observe_upstream`), the loaders per batch (:meth:`Metrics.observe_batch`); open
circuits are read from ``Gateway.health`` at scrape time, so the gauge is never stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from providers.model import ProviderName

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Client-chosen operation names are label values: past this many distinct ones, "other".
MAX_OPERATION_NAMES = 200
NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Endpoint labels per provider: past this many distinct ones, "other". Ids are templated, but an
# id a caller chose can look like one of the API's own words (an order number "abcdefgh"), so
# the template alone cannot bound the labels. Each provider's API has a few dozen at most.
MAX_ENDPOINTS = 50
# A path segment kept as it is: a word of the API's own (lower case, in kebab, snake or camel
# case: orders, place-order, calculateSchedule) or a short version (v1, i1). Anything else (a
# digit, a capital first, a dot, an escape) is an id and becomes {id}.
_WORD_SEGMENT = re.compile(r"^(?:[a-z]+(?:[-_][a-z]+|[A-Z][a-z]+)*|[a-z]\d{1,2})?$")
_WORD_MAX = 40

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100)


def endpoint_label(path: str) -> str:
    """A path as a label: no host, no query, ids replaced by ``{id}``. :meth:`Metrics.endpoint`
    caps how many there are per provider."""
    return _path_label(path.split("?", 1)[0])


@lru_cache(maxsize=1024)  # the few endpoints each provider has, called again and again
def _path_label(path: str) -> str:
    parts = urlsplit(path) if "://" in path else urlsplit("http://x" + path)
    segments = [
        s if len(s) <= _WORD_MAX and _WORD_SEGMENT.match(s) else "{id}"
        for s in parts.path.split("/")
    ]
    return "/".join(segments) or "/"


class _CircuitCollector(Collector):
    """``commerce_graph_circuit_open{provider}``: 1 while a provider's circuit is open."""

    def __init__(self, health: Callable[[ProviderName], object]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "commerce_graph_circuit_open",
            "1 while the provider's circuit breaker is open (calls are refused)",
            labels=["provider"],
        )
        for name in ProviderName:
            status = getattr(self._health(name), "status", "")
            if status == "NOT_CONFIGURED":
                continue
            circuit = getattr(self._health(name), "circuit", None)
            gauge.add_metric([name.value], 1.0 if circuit == "OPEN" else 0.0)
        yield gauge


class Metrics:
    """The app's instruments, on a registry of its own."""

    def __init__(self, health: Callable[[ProviderName], object] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "commerce_graph_requests",
            "GraphQL requests by operation name and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "commerce_graph_request_duration_seconds",
            "GraphQL request latency, from the first byte in to the last byte out",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.user_errors = Counter(
            "commerce_graph_user_errors",
            "userErrors answered by mutations, by operation name and code",
            ["operation", "code"],
            registry=self.registry,
        )
        self.upstream = Counter(
            "commerce_graph_upstream_requests",
            "Calls to provider APIs by provider, endpoint and status (or timeout/unavailable)",
            ["provider", "endpoint", "status"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "commerce_graph_upstream_duration_seconds",
            "Provider API call latency",
            ["provider", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "commerce_graph_dataloader_batch_size",
            "Keys per dataloader batch (one connector call each)",
            ["provider", "kind"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self._operations: set[str] = set()
        self._endpoints: dict[str, set[str]] = {}  # provider -> its endpoint labels so far
        # Each metric's child per label values: ``labels()`` checks and locks on every call.
        # As bounded as the labels themselves (operation names and endpoints are capped).
        self._children: dict[tuple[Any, ...], Any] = {}
        if health is not None:
            self.registry.register(_CircuitCollector(health))

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not NAME_OK.match(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_NAMES:
                return "other"
            self._operations.add(name)
        return name

    def endpoint(self, provider: str, method: str, path: str) -> str:
        """``METHOD /path/{id}``, or ``other`` past ``MAX_ENDPOINTS`` for the provider."""
        endpoint = f"{method} {endpoint_label(path)}"
        seen = self._endpoints.get(provider)
        if seen is None:
            seen = self._endpoints[provider] = set()
        if endpoint not in seen:
            if len(seen) >= MAX_ENDPOINTS:
                return "other"
            seen.add(endpoint)
        return endpoint

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe_request(self, operation: str | None, outcome: str, seconds: float) -> None:
        label = self.operation_label(operation)
        self._child(self.requests, label, outcome).inc()
        self._child(self.request_seconds, label).observe(seconds)

    def observe_user_errors(self, operation: str | None, codes: list[str]) -> None:
        label = self.operation_label(operation)
        for code in codes:
            self._child(self.user_errors, label, code).inc()

    def observe_upstream(
        self, provider: str, method: str, path: str, status: int | str, seconds: float
    ) -> None:
        endpoint = self.endpoint(provider, method, path)
        self._child(self.upstream, provider, endpoint, str(status)).inc()
        self._child(self.upstream_seconds, provider, endpoint).observe(seconds)

    def observe_batch(self, provider: ProviderName, kind: str, size: int) -> None:
        self._child(self.batch_size, provider.value, kind).observe(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)

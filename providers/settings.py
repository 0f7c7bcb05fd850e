"""One provider's settings, as its ``[providers.<name>]`` section gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.http import MAX_CONCURRENCY, UpstreamSettings
from providers.redact import SECRETS
from providers.resilience import Policy

COMMON_KEYS = frozenset(
    {"base_url", "timeout_s", "max_concurrency", "currency", "token"} | Policy.keys()
)


class SettingsError(ValueError):
    """A provider section is missing something it needs or holds a value of the wrong type."""


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    base_url: str
    timeout_s: float = 10.0
    max_concurrency: int = MAX_CONCURRENCY
    currency: str | None = None
    token: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    policy: Policy = Policy()  # retries, retry budget, circuit breaker

    @classmethod
    def parse(cls, name: str, section: dict[str, Any]) -> ProviderSettings:
        base_url = section.get("base_url")
        if not isinstance(base_url, str) or not base_url:
            raise SettingsError(f"[providers.{name}] needs base_url")
        token = section.get("token")
        SECRETS.add(token)
        try:
            max_concurrency = int(section.get("max_concurrency", MAX_CONCURRENCY))
            if max_concurrency < 1:
                # No call would ever be let through: each would wait out its deadline.
                raise ValueError("max_concurrency must be at least 1")
            return cls(
                name=name,
                base_url=base_url,
                timeout_s=float(section.get("timeout_s", 10.0)),
                max_concurrency=max_concurrency,
                currency=section.get("currency"),
                token=token,
                values={k: v for k, v in section.items() if k not in COMMON_KEYS},
                policy=Policy.parse(section),
            )
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"[providers.{name}]: {exc}") from None

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key, default)
        return None if value is None else str(value)

    def secret(self, key: str) -> str | None:
        """A secret setting; registered so it is masked wherever it might be printed."""
        value = self.get(key)
        SECRETS.add(value)
        return value

    def require(self, *keys: str) -> None:
        missing = [k for k in keys if not self.values.get(k)]
        if missing:
            raise SettingsError(f"[providers.{self.name}] needs {', '.join(missing)} or token")

    @property
    def upstream(self) -> UpstreamSettings:
        return UpstreamSettings(
            self.name, self.base_url, self.timeout_s, self.max_concurrency, self.policy
        )

    def public(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "timeout_s": self.timeout_s, "currency": self.currency}

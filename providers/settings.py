"""One provider's settings, as its ``[providers.<name>]`` section gives them."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from providers.http import MAX_CONCURRENCY, UpstreamSettings
from providers.redact import SECRETS
from providers.resilience import Policy, setting_number

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
    def parse(
        cls, name: str, section: dict[str, Any], known: Collection[str] | None = None
    ) -> ProviderSettings:
        """The section's settings, every mistake a ``SettingsError`` naming its key (and never
        a secret's value). ``known``: the keys the provider reads besides ``COMMON_KEYS``; any
        other key is refused (a typo such as ``timeout_secs`` used to be ignored unsaid)."""
        where = f"[providers.{name}]"
        base_url = section.get("base_url")
        if not isinstance(base_url, str) or not base_url:
            raise SettingsError(f"{where} needs base_url")
        refusal = _url_refusal(base_url)
        if refusal:
            raise SettingsError(f"{where} base_url {refusal}")
        if known is not None:
            refused = unknown_keys(where, section, COMMON_KEYS | set(known))
            if refused:
                raise SettingsError(refused)
        for key in ("token", "currency"):  # a token's value is never shown
            if key in section and not isinstance(section[key], str):
                raise SettingsError(f"{where} {key} must be a string")
        token = section.get("token")
        SECRETS.add(token)
        timeout_s = _number(section, "timeout_s", 10.0, float, where)
        if timeout_s <= 0:
            raise SettingsError(f"{where} timeout_s must be more than 0")
        max_concurrency = _number(section, "max_concurrency", MAX_CONCURRENCY, int, where)
        if max_concurrency < 1:
            # No call would ever be let through: each would wait out its deadline.
            raise SettingsError(f"{where} max_concurrency must be at least 1")
        try:
            policy = Policy.parse(section)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{where} {exc}") from None
        return cls(
            name=name,
            base_url=base_url,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            currency=section.get("currency"),
            token=token,
            values={k: v for k, v in section.items() if k not in COMMON_KEYS},
            policy=policy,
        )

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key, default)
        return None if value is None else str(value)

    def number(self, key: str, default: float, kind: type[Any] = int) -> Any:
        """A provider's own numeric setting (``page_size``), or a ``SettingsError`` naming it."""
        return _number(self.values, key, default, kind, f"[providers.{self.name}]")

    def secret(self, key: str) -> str | None:
        """A secret setting; registered so it is masked wherever it might be printed. It must
        be a string: ``password = 1`` read as "1" would mask every "1" in every message."""
        value = self.values.get(key)
        if value is not None and not isinstance(value, str):
            raise SettingsError(f"[providers.{self.name}] {key} must be a string")
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

    def upstream_below(self, api: str) -> UpstreamSettings:
        """``upstream``, with ``api`` (the path every call of the provider starts with) taken
        off the end of ``base_url`` where an operator copied it from the provider's page: the
        calls add it themselves (Akinon's ``/api/i1/api/i1/orders/`` answered every order as
        not found)."""
        base = self.base_url.rstrip("/")
        if base.endswith(api):
            base = base[: -len(api)]
        return dataclasses.replace(self.upstream, base_url=base)

    def public(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "timeout_s": self.timeout_s, "currency": self.currency}


def _url_refusal(base_url: str) -> str | None:
    """Why ``base_url`` cannot serve, in words that repeat none of it (a user, password or
    query may be a secret); ``None`` when it can. Anything in it is shown to every key with
    orders:read (``providers { settings }``), and the connectors send their own credentials
    and queries: a password in it also made every call fail ("Cannot combine AUTHORIZATION
    header with AUTH argument or credentials encoded in URL")."""
    if not base_url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if "@" in urlsplit(base_url).netloc:
        return (
            "must not hold a user or password (user:password@host): it is shown to clients; "
            "credentials go in the section's own keys"
        )
    if "?" in base_url or "#" in base_url:
        return (
            "must not have a query or a fragment (?... or #...): it is shown to clients, and "
            "the calls add their own query; credentials go in the section's own keys"
        )
    return None


def _number(section: dict[str, Any], key: str, default: Any, kind: type[Any], where: str) -> Any:
    """The setting ``key`` as a ``kind`` (float or int), or a ``SettingsError`` naming it."""
    try:
        return setting_number(key, section.get(key, default), kind)
    except ValueError as exc:
        raise SettingsError(f"{where} {exc}") from None


def unknown_keys(where: str, given: Collection[str], known: Collection[str]) -> str | None:
    """What refuses the keys of ``given`` that ``known`` lacks, each with the known key it most
    likely meant; ``None`` when every key is known. A misspelt key is refused, not ignored:
    ``max_cots = 5`` would leave max_cost as it was, ``timeout_secs`` the timeout."""
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return None
    ordered = sorted(known)
    named = []
    for key in unknown:
        close = difflib.get_close_matches(key, ordered, n=1)
        named.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return (
        f"{where}: unknown key{'s' * (len(unknown) > 1)} {', '.join(named)}; "
        f"the {where} keys are {', '.join(ordered)}"
    )

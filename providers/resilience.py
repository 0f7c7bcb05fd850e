"""What keeps one slow or failing provider from taking the gateway down.

The shared client (``providers/http.py``) applies these per provider:

- :class:`Policy`: the knobs, from the provider's ``[providers.<name>]`` section;
- :class:`CircuitBreaker`: closed -> open after ``circuit_failures`` consecutive failures (a 5xx,
  a timeout, a connection fault; not a call whose deadline passed while it still waited for one
  of the provider's ``max_concurrency`` slots, which never reached the provider: the queue is
  the gateway's own) -> half-open after ``circuit_reset_s``, when one probe is let
  through: its success closes the circuit, its failure opens it again. While open, calls fail
  fast with :class:`~providers.errors.CircuitOpen` and nothing is sent;
- :class:`RetryBudget`: retries may add at most ``retry_budget`` of the requests made over the
  last ``budget_window_s`` (plus a small floor, so a quiet provider can still retry), so a
  struggling provider is not hit with a multiple of its load;
- :func:`backoff` (full jitter) and :func:`retry_after` (the header, in seconds or as a date).
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections import deque
from dataclasses import dataclass, fields
from email.utils import parsedate_to_datetime
from typing import Any

from providers.errors import CircuitOpen

_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Policy:
    """A provider's resilience knobs; every one can be set in its config section."""

    retries: int = 2  # extra attempts for a GET, or for a connect that sent nothing
    backoff_s: float = 0.05  # first backoff ceiling; doubles per attempt, fully jittered
    backoff_max_s: float = 1.0
    retry_budget: float = 0.2  # retries <= 20% of the requests in the window ...
    retry_floor: int = 3  # ... or this many, whichever is larger
    budget_window_s: float = 10.0
    circuit_failures: int = 5
    circuit_reset_s: float = 30.0

    @classmethod
    def keys(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def parse(cls, section: dict[str, Any]) -> Policy:
        """The knobs present in ``section``, typed as the defaults are; raises ValueError."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in section:
                kind = type(getattr(cls(), f.name))
                values[f.name] = setting_number(f.name, section[f.name], kind)
                if values[f.name] < 0:
                    raise ValueError(f"{f.name} must not be negative")
        return cls(**values)


def setting_number(key: str, raw: Any, kind: type[Any]) -> Any:
    """The setting ``key``'s ``raw`` value as a ``kind`` (int or float); else a ValueError
    naming the key (what every numeric setting of a provider section is read by). Only a
    number written as one is taken, as ``[server]``'s are: not a bool, not a string ("3"), not
    NaN or infinity (``timeout_s = nan`` let a hanging provider hold a request forever), and
    for an int not a fraction (``max_concurrency = 2.7`` was read as 2)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{key} must be a number, not {raw!r}")
    if not math.isfinite(raw):
        raise ValueError(f"{key} must be a finite number, not {raw!r}")
    if kind is int and not isinstance(raw, int):
        raise ValueError(f"{key} must be a whole number, not {raw!r}")
    return kind(raw)


class Circuit(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """One provider's circuit. Call :meth:`admit` before sending, then exactly one of
    :meth:`success` / :meth:`failure` / :meth:`release` for each admitted attempt."""

    def __init__(self, provider: str, failures: int, reset_s: float) -> None:
        self.provider = provider
        self.threshold = max(1, failures)
        self.reset_s = reset_s
        self.consecutive = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> Circuit:
        if self._opened_at is None:
            return Circuit.CLOSED
        if time.monotonic() - self._opened_at >= self.reset_s:
            return Circuit.HALF_OPEN
        return Circuit.OPEN

    def admit(self) -> None:
        """Let an attempt through, or raise ``CircuitOpen`` (nothing is sent)."""
        state = self.state
        if state is Circuit.CLOSED:
            return
        if state is Circuit.HALF_OPEN and not self._probing:
            self._probing = True  # this attempt is the one probe
            return
        wait = self.reset_s - (time.monotonic() - (self._opened_at or 0.0))
        raise CircuitOpen(
            self.provider,
            f"circuit open after {self.consecutive} consecutive failures; "
            f"next probe in {max(wait, 0.0):.1f} s",
        )

    def success(self) -> None:
        self.consecutive = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self.consecutive += 1
        if self._probing or self.consecutive >= self.threshold:
            self._opened_at = time.monotonic()
        self._probing = False

    def release(self) -> None:
        """An admitted attempt ended without a verdict (cancelled): free the probe slot."""
        self._probing = False


class RetryBudget:
    """Retries allowed over a sliding window, as a share of the requests in it."""

    def __init__(self, ratio: float, floor: int, window_s: float) -> None:
        self.ratio = ratio
        self.floor = floor
        self.window_s = window_s
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        for stamps in (self._requests, self._retries):
            while stamps and now - stamps[0] > self.window_s:
                stamps.popleft()

    def request(self) -> None:
        now = time.monotonic()
        self._trim(now)
        self._requests.append(now)

    def try_retry(self) -> bool:
        """Spend one retry if the budget has one."""
        now = time.monotonic()
        self._trim(now)
        if len(self._retries) >= max(self.floor, self.ratio * len(self._requests)):
            return False
        self._retries.append(now)
        return True


def backoff(attempt: int, policy: Policy) -> float:
    """Full jitter: uniform in [0, min(max, base * 2**attempt)] (AWS architecture blog)."""
    return _RNG.uniform(0.0, min(policy.backoff_max_s, policy.backoff_s * (2**attempt)))


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` when unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())

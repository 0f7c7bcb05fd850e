"""Keeping secrets out of logs, errors and ``raw`` payloads.

Three tools: :data:`SECRETS`, a registry of the secret values this process knows (passwords,
client secrets, Basic credentials, tokens as they are issued), whose :meth:`Secrets.redact`
masks them in any text, as they are and in the forms they travel in (:func:`forms`:
URL-encoded, JSON-escaped); :func:`without`, which masks a value made for one request (a
signature) in the answer to that request; and :func:`scrub`, which drops secret-bearing keys
(PINs, tokens, passwords) from a provider payload before it is shown as ``raw``, and masks
personal numbers in it: ``raw`` needs raw:read, a personal number pii:read, so ``raw`` never
holds one, whatever the key's scopes (the typed fields ``identityNumber``, ``taxNumber`` and
``personalNumber`` serve them under pii:read).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

MASK = "[redacted]"

# Keys whose values never leave the gateway in a ``raw`` payload, compared case-insensitively
# and without separators ("access_token" and "accessToken" both become "accesstoken").
SECRET_KEYS = frozenset(
    {
        "pin",
        "pins",
        "code",
        "codes",
        "serial",
        "password",
        "secret",
        "clientsecret",
        "apisecret",
        "appsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "key",
        "apikey",
        "authorization",
    }
)

# Keys holding a personal number (identity, tax or personal number), compared as SECRET_KEYS
# are, in each provider's spelling: Akinon's address ``identity_number`` and ``tax_no``, Front
# Payment's ``customerDetails.personalNumber``, and the gateway's own field names.
PII_KEYS = frozenset(
    {
        "identitynumber",
        "identityno",
        "taxno",
        "taxnumber",
        "personalnumber",
    }
)

_SEPARATORS = re.compile(r"[_\-\s]")


def forms(value: str) -> set[str]:
    """``value`` as it may travel and come back: as itself, URL-encoded (a query by ``quote``,
    "/" kept; a form body by ``quote_plus``; either with nothing kept; with lower-case hex, as
    .NET's ``HttpUtility`` writes it; or encoded twice), and each of those JSON-escaped (a
    body, or an upstream's error that quotes one) as orjson writes it, as Python's json writes
    it (non-ASCII as \\uXXXX), with "/" as "\\/" (PHP's way) and as System.Text.Json writes
    it (``+<>&'"`` and non-ASCII as \\uXXXX, upper-case hex). A provider's error field that
    is an object or a list is shown by its texts (``providers.values.shown``), never in Python's
    repr."""
    url = {value, quote(value), quote(value, safe=""), quote_plus(value), quote_plus(value, "/")}
    encoded = [form for form in url if "%" in form]
    url |= {_PERCENT.sub(lambda escape: escape[0].lower(), form) for form in encoded}
    url |= {quote(form, safe="") for form in encoded}
    escaped = set()
    for form in url:
        ascii_escaped = json.dumps(form)[1:-1]
        php = ascii_escaped.replace("/", "\\/")
        escaped |= {orjson.dumps(form).decode()[1:-1], ascii_escaped, php, _dotnet(form)}
    return url | escaped


_PERCENT = re.compile(r"%[0-9A-F]{2}")
_DOTNET_ESCAPED = frozenset("\"&'+<>`")


def _dotnet(text: str) -> str:
    """``text`` JSON-escaped by System.Text.Json's default encoder."""
    out = []
    for char in text:
        if " " <= char <= "~" and char not in _DOTNET_ESCAPED or char in "\n\r\t\b\f":
            out.append(json.dumps(char)[1:-1])  # as itself; "\\" and "\n" as any JSON has them
        else:
            units = char.encode("utf-16-be")
            out += (f"\\u{int.from_bytes(units[i : i + 2]):04X}" for i in range(0, len(units), 2))
    return "".join(out)


_ALNUM = re.compile(r"[A-Za-z0-9]+")


def runs(value: str) -> tuple[str, ...]:
    """The runs of ASCII letters and digits in ``value``, the longest first: every form of it
    (:func:`forms`) holds each of them as it is, as no encoding escapes a letter or a digit. A
    text missing any of them holds no form of ``value``: finding that out is a substring
    search or two, where making the forms costs about 100 us and matching them all a few us a
    line. All of them, not the longest alone: a secret made of common words
    ("sandbox-lipalater-api-secret") has its provider's name for its longest run, in every log
    line about that provider."""
    return tuple(sorted(dict.fromkeys(_ALNUM.findall(value)), key=len, reverse=True))


def without(body: bytes, values: Iterable[str]) -> bytes:
    """``body`` with every form of each of ``values`` masked."""
    for value in filter(None, values):
        if not all(run.encode() in body for run in runs(value)):
            continue  # no form of it can be there (Lipa Later's Sign in every answer)
        for form in forms(value):
            body = body.replace(form.encode(), MASK.encode())
    return body


class Secrets:
    """The secret values this process holds; any text can be masked against them, in every
    form (:func:`forms`) each can take on the way out and back.

    Every value is masked whatever its length: a five-character token is still a credential,
    and masking an innocent "1" in a line is the cheap mistake, leaking a secret the costly
    one. Only an empty value (or ``None``: a setting not given) is not registered. That no tiny
    value comes in by accident is the sources' part: a setting read as a secret must be a
    string (``password = 1`` is refused, not read as "1"; providers/settings.py), and a Basic
    pair is registered only with its secret (:meth:`basic`)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._forms: set[str] = set()
        # Each value's ``runs``: a line missing one of each is not matched against the forms.
        self._runs: tuple[tuple[str, ...], ...] = ()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        if not value or value in self._values:
            return
        self._values.add(value)
        self._forms |= forms(value)
        self._compile()

    def _compile(self) -> None:
        self._runs = tuple(set(map(runs, self._values)))
        # Longest first: a secret that contains another is masked whole.
        escaped = sorted((re.escape(f) for f in self._forms), key=len, reverse=True)
        self._pattern = re.compile("|".join(escaped)) if escaped else None

    def discard(self, value: str) -> None:
        """Forget ``value`` (a token that has been replaced): each value registered costs every
        log line and message a little more to mask."""
        if value in self._values:
            self._values.remove(value)
            self._forms = {f for v in self._values for f in forms(v)}
            self._compile()

    def basic(self, user: str | None, secret: str | None) -> str:
        """The HTTP Basic credentials ``base64(user:secret)``, registered with ``secret``: an
        upstream that echoes the Authorization header would show both in one string."""
        encoded = base64.b64encode(f"{user or ''}:{secret or ''}".encode()).decode()
        if secret:
            self.add(secret)
            self.add(encoded)
        return encoded

    def _may_hold(self, text: str) -> bool:
        for found in self._runs:
            for run in found:
                if run not in text:
                    break
            else:
                return True  # every run of a value is there (or it has none)
        return False

    def found(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any of its forms."""
        return (
            self._pattern is not None
            and self._may_hold(text)
            and self._pattern.search(text) is not None
        )

    def redact(self, text: str) -> str:
        if self._pattern is None or not text or not self._may_hold(text):
            return text
        return self._pattern.sub(MASK, text)


SECRETS = Secrets()


def _normal(key: object) -> str:
    return _SEPARATORS.sub("", str(key)).lower()


def scrub(payload: Any) -> Any:
    """A copy of ``payload`` without secret-bearing keys and with every personal number
    masked (a null or empty one is left as it is: it says nothing), at any depth."""
    if isinstance(payload, dict):
        kept: dict[Any, Any] = {}
        for k, v in payload.items():
            name = _normal(k)
            if name in SECRET_KEYS:
                continue
            kept[k] = MASK if name in PII_KEYS and v not in (None, "") else scrub(v)
        return kept
    if isinstance(payload, list):
        return [scrub(v) for v in payload]
    return payload

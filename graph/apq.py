"""Automatic persisted queries (the protocol Apollo clients speak), and an allowlist mode.

A client sends ``extensions: {persistedQuery: {version: 1, sha256Hash: "<hex>"}}`` without the
document. Known hash: the gateway runs the document it registered for it. Unknown: the answer
is ``PersistedQueryNotFound`` (code ``PERSISTED_QUERY_NOT_FOUND``), and the client sends the
hash with the document once; the gateway checks the hash, runs the document and, once it has
run (past parsing, validation and the limits: :meth:`PersistedQueries.register`, which the view
calls with the result), registers it. A refused document is never registered, so its hash alone
answers ``PERSISTED_QUERY_NOT_FOUND`` as Apollo's server does. The registered documents are a
per-process LRU bounded twice: ``[server] apq_cache_size`` documents and ``[server]
apq_cache_bytes`` of memory between them (each document can be up to ``max_body_bytes``). GET
works the same way, with ``extensions`` in the query string.

``[server] persisted_only = true`` turns this into an allowlist: only the documents in
``[server] persisted_queries = "file.json"`` run (by hash, or sent in full), nothing is
registered from the wire, and anything else answers ``PERSISTED_QUERY_NOT_IN_LIST``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from graph.config import ConfigError, ServerConfig
from graph.errors import BadUserInput, GatewayError
from graph.memo import Lru

_HASH = re.compile(r"[0-9a-f]{64}")  # hexdigest(): lower case, as every client sends it
DEFAULT_CACHE_SIZE = 10_000
# Memory the registered documents may take per process: a few thousand documents of a few KB,
# and at most 32 documents as large as a body may be (max_body_bytes, 1 MB by default).
DEFAULT_CACHE_BYTES = 32_000_000


class PersistedQueryNotFound(GatewayError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotInList(GatewayError):
    code = "PERSISTED_QUERY_NOT_IN_LIST"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: str | Path) -> dict[str, str]:
    """Hash -> document from a JSON file: ``{"<sha256>": "<document>", ...}`` or Apollo's
    persisted query manifest (``{"operations": [{"id": ..., "body": ...}]}``). Every hash is
    checked against its document, so a stale file fails at startup, not per request."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[server].persisted_queries: cannot read {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        pairs = [(op.get("id"), op.get("body")) for op in data["operations"]]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ConfigError(f"[server].persisted_queries: {path} must hold a JSON object")
    manifest: dict[str, str] = {}
    for digest, document in pairs:
        if not isinstance(document, str) or digest != sha256(document):
            raise ConfigError(
                f"[server].persisted_queries: {str(digest)[:16]}... in {path} is not the"
                " sha256 of its document"
            )
        manifest[digest] = document
    return manifest


def _failure(error: GatewayError) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(error.message, original_error=error)])


def _ran(result: ExecutionResult) -> bool:
    """Whether the operation reached execution: parsing, validation, the limits and the
    variables refuse with errors without a path and no ``data`` (graph/app.py's
    ``is_request_error``)."""
    return (
        result.data is not None
        or not result.errors
        or any(e.path is not None for e in result.errors)
    )


def footprint(digest: str, document: str) -> int:
    """The memory a registered document and its hash take, in bytes (a str of ASCII text is
    about one byte per character; one character beyond Latin-1 makes every one two or four)."""
    return sys.getsizeof(document) + sys.getsizeof(digest)


class Registered(Lru[str, str]):
    """The documents registered from the wire: at most ``size`` of them and ``max_bytes`` of
    memory between them (their :func:`footprint`), the least recently used out first."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(size)
        self.max_bytes = max_bytes
        self.bytes = 0

    def keep(self, key: str, value: str) -> str:
        if key in self:  # the same hash is the same document
            self.move_to_end(key)
            return value
        cost = footprint(key, value)
        if self.size == 0 or cost > self.max_bytes:
            return value  # it would push out everything else, and not fit anyway
        self.bytes += cost
        super().keep(key, value)
        while self.bytes > self.max_bytes:
            self.popitem(last=False)
        return value

    def popitem(self, last: bool = True) -> tuple[str, str]:
        key, value = super().popitem(last)
        self.bytes -= footprint(key, value)
        return key, value


class PersistedQueries:
    """Resolves a request's document from its hash, registering and refusing as configured."""

    def __init__(
        self,
        manifest: dict[str, str] | None = None,
        *,
        persisted_only: bool = False,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.manifest = dict(manifest or {})
        self.persisted_only = persisted_only
        self._cache = Registered(cache_size, cache_bytes)

    @classmethod
    def from_config(cls, server: ServerConfig) -> PersistedQueries:
        extra = server.extra
        only = extra.get("persisted_only", False)
        if not isinstance(only, bool):
            raise ConfigError("[server].persisted_only must be true or false")
        path = extra.get("persisted_queries")
        manifest = load_manifest(path) if path else {}
        if only and not path:
            raise ConfigError(
                "[server].persisted_only = true needs [server].persisted_queries = FILE"
            )
        if only and not manifest:
            raise ConfigError(
                f"[server].persisted_only = true, but {path} registers no document: "
                "every request would be refused"
            )
        size = extra.get("apq_cache_size", DEFAULT_CACHE_SIZE)
        if type(size) is not int or size < 0:
            raise ConfigError("[server].apq_cache_size must be a whole number >= 0")
        max_bytes = extra.get("apq_cache_bytes", DEFAULT_CACHE_BYTES)
        if type(max_bytes) is not int or max_bytes < 0:
            raise ConfigError("[server].apq_cache_bytes must be a whole number >= 0")
        return cls(manifest, persisted_only=only, cache_size=size, cache_bytes=max_bytes)

    def resolve(self, data: GraphQLRequestData) -> GraphQLRequestData | ExecutionResult:
        """The request with its document filled in, or the error result to answer instead.
        Registers nothing: a document sent with its hash is registered by :meth:`register`,
        once it has run."""
        ext: Any = (data.extensions or {}).get("persistedQuery")
        if ext is None:
            if self.persisted_only and (
                data.query is None or sha256(data.query) not in self.manifest
            ):
                return _failure(PersistedQueryNotInList(_NOT_IN_LIST))
            return data
        digest = ext.get("sha256Hash") if isinstance(ext, dict) else None
        if not isinstance(ext, dict) or ext.get("version") != 1:
            return _failure(BadUserInput("Unsupported persisted query version"))
        if not isinstance(digest, str) or not _HASH.fullmatch(digest):
            return _failure(
                BadUserInput("persistedQuery.sha256Hash must be 64 lower-case hex digits")
            )
        if data.query is not None:
            if sha256(data.query) != digest:
                return _failure(BadUserInput("provided sha does not match query"))
            if self.persisted_only and digest not in self.manifest:
                return _failure(PersistedQueryNotInList(_NOT_IN_LIST))
            return data
        document = self.manifest.get(digest)
        if document is None and self.persisted_only:
            return _failure(PersistedQueryNotInList(_NOT_IN_LIST))
        if document is None:
            document = self._cache.find(digest)
            if document is None:
                return _failure(PersistedQueryNotFound("PersistedQueryNotFound"))
        return dataclasses.replace(data, query=document)

    def register(self, data: GraphQLRequestData, result: ExecutionResult) -> ExecutionResult:
        """``result``, after registering the document ``data`` (the request as sent, before
        :meth:`resolve`) carried with its hash, if the operation ran: a document that parsing,
        validation or the limits refused is not kept, so it takes no memory and its hash alone
        answers ``PERSISTED_QUERY_NOT_FOUND``, not the refusal again."""
        ext: Any = (data.extensions or {}).get("persistedQuery")
        digest = ext.get("sha256Hash") if isinstance(ext, dict) else None
        if (
            self.persisted_only
            or data.query is None
            or not isinstance(digest, str)
            or digest in self.manifest
            or not _ran(result)
        ):
            return result
        if digest in self._cache or sha256(data.query) == digest:
            self._cache.keep(digest, data.query)
        return result


_NOT_IN_LIST = "this gateway runs only registered documents ([server].persisted_only)"

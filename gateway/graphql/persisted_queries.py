"""Persisted queries: Apollo's automatic persisted queries (APQ) and a safelist of registered documents.

APQ (``extensions.persistedQuery = {version: 1, sha256Hash}``): a client first sends only the hash; an
unknown hash answers ``PersistedQueryNotFound`` and the client sends hash and document together, which
stores the document in the cache port (Redis in production) for ``persisted_query_ttl_s``.

The safelist is a directory of ``.graphql`` files (``MILESGATE_PERSISTED_QUERIES_DIR``), each named by
the sha256 of its text (``milesgate persisted-queries register`` writes them). With the safelist
enforced, only those documents run, whether a client sends the hash or the full text. The operators'
schema (``/admin/graphql``) has its own safelist in that directory's ``admin/`` folder
(``register --schema admin``): a member document never runs there, nor an operator's at ``/graphql``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

from graphql import GraphQLError, GraphQLSyntaxError, parse
from strawberry.http import GraphQLRequestData

from gateway.backends.memory import MemoryCache
from gateway.settings import ConfigurationError, Settings
from loyalty.ports import Cache

ADMIN_SAFELIST_FOLDER = "admin"
"""The operators' safelist: this folder inside the safelist directory."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CACHE_PREFIX = "apq:"
RECENT_DOCUMENTS = 512
"""APQ documents each process keeps in memory (least recently used out)."""


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class PersistedQueryError(GraphQLError):
    """A persisted-query request that cannot run, with Apollo's codes where Apollo has one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, extensions={"code": code})


class SafelistError(ConfigurationError):
    """The safelist directory is missing or holds a document that is not valid GraphQL (found at start)."""


@dataclasses.dataclass(frozen=True)
class Safelist:
    documents: dict[str, str]
    """sha256 → document text."""

    @classmethod
    def empty(cls) -> Safelist:
        return cls({})

    @classmethod
    def from_directory(cls, directory: Path) -> Safelist:
        """Every ``*.graphql`` file of ``directory``, checked to parse; a missing directory is an error."""
        if not directory.is_dir():
            raise SafelistError(f"the persisted queries directory {directory} does not exist")
        documents: dict[str, str] = {}
        for path in sorted(directory.glob("*.graphql")):
            text = path.read_text(encoding="utf-8")
            try:
                parse(text)
            except GraphQLSyntaxError as exc:
                raise SafelistError(f"{path.name}: {exc.message}") from exc
            documents[document_hash(text)] = text
        return cls(documents)

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self.documents


def member_safelist(settings: Settings) -> Safelist:
    """The member schema's safelist: the directory's own documents (none without a directory)."""
    directory = settings.persisted_queries_dir
    return Safelist.from_directory(directory) if directory is not None else Safelist.empty()


def admin_safelist(settings: Settings) -> Safelist:
    """The operators' safelist: the documents in the directory's ``admin/`` folder (none without one)."""
    directory = settings.persisted_queries_dir
    if directory is None or not (directory / ADMIN_SAFELIST_FOLDER).is_dir():
        return Safelist.empty()
    return Safelist.from_directory(directory / ADMIN_SAFELIST_FOLDER)


class PersistedQueries:
    """Turns a request's persisted-query extension into its document, or refuses it."""

    def __init__(self, *, safelist: Safelist, enforce_safelist: bool, apq: bool, ttl_s: int) -> None:
        self.safelist = safelist
        self.enforce_safelist = enforce_safelist
        self.apq = apq
        self.ttl_s = ttl_s
        self._recent = MemoryCache(max_entries=RECENT_DOCUMENTS)
        """APQ documents this process saw lately, by hash: a hash names one text for ever, so a copy
        here spares the shared cache a round trip on every request of an app that sends only hashes."""

    async def resolve(self, data: GraphQLRequestData, cache: Cache) -> GraphQLRequestData:
        """The request with its document filled in; raises ``PersistedQueryError`` when it may not run."""
        extension = (data.extensions or {}).get("persistedQuery")
        if extension is None:
            if (
                self.enforce_safelist
                and data.query is not None
                and document_hash(data.query) not in self.safelist
            ):
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_ALLOWED", "Only registered documents are accepted here."
                )
            return data
        sha256 = self._checked_hash(extension)
        if data.query is not None:
            if document_hash(data.query) != sha256:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
                )
            if sha256 in self.safelist:
                return data
            if self.enforce_safelist:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_ALLOWED", "Only registered documents are accepted here."
                )
            if self.apq:
                document = data.query.encode("utf-8")
                await cache.set(CACHE_PREFIX + sha256, document, ttl_s=self.ttl_s)
                await self._recent.set(sha256, document)
            return data
        if sha256 in self.safelist:
            return dataclasses.replace(data, query=self.safelist.documents[sha256])
        if self.enforce_safelist:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_ALLOWED", "Only registered documents are accepted here."
            )
        if not self.apq:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        stored = await self._recent.get(sha256)
        if stored is None:
            stored = await cache.get(CACHE_PREFIX + sha256)
            if stored is None:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            await self._recent.set(sha256, stored)
        return dataclasses.replace(data, query=stored.decode("utf-8"))

    def _checked_hash(self, extension: object) -> str:
        if not self.apq and not self.safelist.documents:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        if not isinstance(extension, dict) or extension.get("version") != 1:
            raise PersistedQueryError(
                "PERSISTED_QUERY_INVALID", "persistedQuery needs version 1 and a sha256Hash"
            )
        sha256 = extension.get("sha256Hash")
        if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
            raise PersistedQueryError("PERSISTED_QUERY_INVALID", "sha256Hash is 64 hexadecimal digits")
        return sha256.lower()

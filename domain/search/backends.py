"""Search backends for torrents.

PostgreSQL (the default): the index is torrents.search_vector itself, kept current by the
trigger in sql/0001_torrent_search.sql (weighted tsvector, GIN) plus a trigram GIN index on
upper(name) for typos. Indexing a queue row is therefore a no-op; searching is one query.

Meilisearch (when settings.MEILISEARCH_URL is set): documents are pushed by the queue
drain (domain.search.tasks) through the official `meilisearch` client; a search returns
ids, which the catalog's selector turns back into rows it may show.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from django.conf import settings

FILTERABLE = ["category", "parent_category", "tags", "is_freeleech", "uploader",
              "resolution", "source", "video_codec", "release_group"]
SORTABLE = ["created_at", "size", "seeders", "leechers", "snatches"]
SEARCHABLE = ["name", "tags", "release_group", "description"]
INDEX_SETTINGS: dict[str, dict[str, list[str]]] = {
    "torrent": {"filterableAttributes": FILTERABLE, "sortableAttributes": SORTABLE,
                "searchableAttributes": SEARCHABLE},
    "request": {"filterableAttributes": ["category", "status"],
                "sortableAttributes": ["bounty", "votes", "created_at"],
                "searchableAttributes": ["title", "description"]},
    "collection": {"filterableAttributes": ["collection_type", "category"],
                   "sortableAttributes": ["items", "subscribers", "updated_at"],
                   "searchableAttributes": ["name", "description"]},
}


class SearchBackendError(Exception):
    """The backend could not take the change now; the queue row is retried later."""


class SearchBackend(Protocol):
    name: str

    def upsert(self, documents: Sequence[dict[str, Any]], *, kind: str = "torrent") -> None:
        ...

    def delete(self, ids: Sequence[str], *, kind: str = "torrent") -> None: ...

    def search_ids(self, query: str, *, limit: int, kind: str = "torrent"
                   ) -> list[uuid.UUID] | None:
        """Matching ids of `kind` (torrent, request, collection), best first; None means
        'search in PostgreSQL'."""
        ...


class PostgresBackend:
    name = "postgres"

    def upsert(self, documents: Sequence[dict[str, Any]], *, kind: str = "torrent") -> None:
        return None

    def delete(self, ids: Sequence[str], *, kind: str = "torrent") -> None:
        return None

    def search_ids(self, query: str, *, limit: int, kind: str = "torrent"
                   ) -> list[uuid.UUID] | None:
        return None


class MeilisearchBackend:
    name = "meilisearch"

    def __init__(self, url: str, api_key: str = "", index: str = "torrents") -> None:
        import meilisearch

        self.client = meilisearch.Client(url, api_key or None, timeout=10)
        self.index_uid = index
        self._configured: set[str] = set()

    def _uid(self, kind: str) -> str:
        # Requests and collections get their own indexes beside the torrents'.
        return self.index_uid if kind == "torrent" else f"{self.index_uid}_{kind}s"

    def _index(self, kind: str = "torrent") -> Any:
        index = self.client.index(self._uid(kind))
        if kind not in self._configured:
            # Settings are idempotent; sent before the first write of each drain.
            index.update_settings(INDEX_SETTINGS[kind])
            self._configured.add(kind)
        return index

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            # API errors, timeouts, refused connections and answers the client cannot
            # parse all mean "not now": the queue row is retried with backoff.
            raise SearchBackendError(f"{type(exc).__name__}: {exc}") from exc

    def upsert(self, documents: Sequence[dict[str, Any]], *, kind: str = "torrent") -> None:
        if documents:
            self._call(lambda: self._index(kind).add_documents(list(documents),
                                                               primary_key="id"))

    def delete(self, ids: Sequence[str], *, kind: str = "torrent") -> None:
        if ids:
            self._call(lambda: self._index(kind).delete_documents(list(ids)))

    def search_ids(self, query: str, *, limit: int, kind: str = "torrent"
                   ) -> list[uuid.UUID] | None:
        result = self._call(lambda: self.client.index(self._uid(kind)).search(
            query, {"limit": limit, "attributesToRetrieve": ["id"]}))
        return [uuid.UUID(hit["id"]) for hit in result.get("hits", [])]


def search_backend() -> SearchBackend:
    if settings.MEILISEARCH_URL:
        return MeilisearchBackend(settings.MEILISEARCH_URL, settings.MEILISEARCH_API_KEY,
                                  settings.MEILISEARCH_INDEX)
    return PostgresBackend()


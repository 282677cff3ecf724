"""Who builds the documents the search backend indexes, by kind (torrent, request,
collection). The areas that own the rows register their builders when Django starts
(domain.catalog's AppConfig.ready), so search, which only queues and drains, imports
nothing of theirs: they depend on search, not the other way round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Builder = Callable[[list[Any]], list[dict[str, Any]]]

_BUILDERS: dict[str, Builder] = {}


def document_builder_register(kind: str, builder: Builder) -> None:
    """`builder(ids)` returns the documents of the rows that may be shown, and leaves out
    the others (the drain then removes those from the index)."""
    _BUILDERS[kind] = builder


def documents_build(kind: str, ids: list[Any]) -> list[dict[str, Any]]:
    return _BUILDERS[kind](ids)

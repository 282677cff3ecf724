"""A small local HTTP double of Meilisearch's documented REST API (no Meilisearch server
installs here): index settings (PATCH /indexes/{uid}/settings), documents
(POST /indexes/{uid}/documents, POST /indexes/{uid}/documents/delete-batch) and search
(POST /indexes/{uid}/search). It answers like Meilisearch (202 + a task summary for writes)
and records every request so tests can assert what the real client sent."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MeiliDouble:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        # Documents per index uid; `documents` is the torrents index.
        self.indexes: dict[str, dict[str, dict[str, Any]]] = {"torrents": {}}
        self.documents: dict[str, dict[str, Any]] = self.indexes["torrents"]
        self.settings: dict[str, Any] = {}
        self.fail = False
        self._task = 0
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                double.requests.append((self.command, self.path, body))
                if double.fail:
                    self._reply(503, {"message": "unavailable", "code": "internal",
                                      "type": "internal", "link": ""})
                    return
                path = self.path.split("?")[0]
                match = re.fullmatch(r"/indexes/([^/]+)/(settings|documents|"
                                     r"documents/delete-batch|search)", path)
                if not match:
                    self._reply(404, {"message": "not found", "code": "not_found",
                                      "type": "invalid_request", "link": ""})
                    return
                # Every call the double answers (settings, documents, search) sends a JSON body.
                assert body is not None, self.path
                uid, action = match.groups()
                if action == "search":
                    words = (body.get("q") or "").lower().split()
                    docs = double.indexes.get(uid, {}).values()
                    hits = [{"id": d["id"]} for d in docs
                            if all(w in (d.get("name") or d.get("title") or "").lower()
                                   for w in words)]
                    # Best first, as Meilisearch ranks: here the shortest text.
                    hits.sort(key=lambda h: len(str(double.indexes[uid][h["id"]].get(
                        "name") or double.indexes[uid][h["id"]].get("title") or "")))
                    self._reply(200, {"hits": hits[: body.get("limit", 20)],
                                      "query": body.get("q"), "processingTimeMs": 0,
                                      "limit": body.get("limit", 20), "offset": 0,
                                      "estimatedTotalHits": len(hits)})
                    return
                if action == "settings":
                    double.settings.update(body)
                elif action == "documents":
                    for doc in body:
                        double.indexes.setdefault(uid, {})[doc["id"]] = doc
                else:
                    for doc_id in body:
                        double.indexes.setdefault(uid, {}).pop(doc_id, None)
                double._task += 1
                self._reply(202, {"taskUid": double._task, "indexUid": uid,
                                  "status": "enqueued", "type": action,
                                  "enqueuedAt": "2026-01-01T00:00:00.000000Z"})

            do_POST = do_PATCH = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MeiliDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[tuple[str, str]]:
        return [(m, p.split("?")[0]) for m, p, _ in self.requests]

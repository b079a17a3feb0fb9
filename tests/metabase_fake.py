"""A local HTTP server answering like Metabase's REST API (the endpoints provisioning uses), for tests.

It keeps users, sessions, databases, collections, cards and dashboards in memory and records every
call as ``(method, path, body)``. Shapes follow Metabase's API documentation: ``/api/session/properties``
gives ``setup-token`` and ``has-user-setup``; ``/api/setup`` and ``/api/session`` answer ``{"id": <session>}``;
every other endpoint needs the ``X-Metabase-Session`` header; ``GET /api/database`` answers
``{"data": [...], "total": n}`` with the password masked; ``PUT /api/dashboard/:id`` replaces the
dashcards (negative ids are new ones). It does not run queries.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MASK = "**MetabasePass**"


class FakeMetabase:
    def __init__(self, healthy: bool = True):
        self.healthy = healthy
        self.setup_token = str(uuid.uuid4())
        self.users: dict[str, str] = {}
        self.sessions: set[str] = set()
        self.objects: dict[str, dict[int, dict[str, Any]]] = {"database": {}, "collection": {}, "card": {}, "dashboard": {}}
        self.calls: list[tuple[str, str, Any]] = []
        self._next = 1
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeMetabase":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def state(self) -> dict[str, Any]:
        return copy.deepcopy({"users": self.users, "objects": self.objects})

    def _id(self) -> int:
        self._next += 1
        return self._next

    def answer(self, method: str, path: str, body: Any, session: str | None) -> tuple[int, Any]:
        if path == "/api/health":
            return (200, {"status": "ok"}) if self.healthy else (503, {"status": "initializing"})
        if path == "/api/session/properties" and method == "GET":
            return 200, {"setup-token": None if self.users else self.setup_token, "has-user-setup": bool(self.users)}
        if path == "/api/setup" and method == "POST":
            if self.users or body.get("token") != self.setup_token:
                return 403, {"message": "The /api/setup route can only be used to create the first user"}
            self.users[body["user"]["email"]] = body["user"]["password"]
            return 200, {"id": self._session()}
        if path == "/api/session" and method == "POST":
            if self.users.get(body.get("username")) != body.get("password"):
                return 401, {"errors": {"password": "did not match stored password"}}
            return 200, {"id": self._session()}
        if session not in self.sessions:
            return 401, "Unauthenticated"
        match = re.fullmatch(r"/api/(database|collection|card|dashboard)(?:/(\d+))?(/sync_schema)?", path)
        if not match:
            return 404, "API endpoint does not exist."
        kind, ident, sync = match.group(1), match.group(2), match.group(3)
        store = self.objects[kind]
        if sync:
            return (200, {"status": "ok"}) if int(ident) in store else (404, "Not found.")
        if ident is None and method == "GET":
            items = [self._shown(kind, obj) for obj in store.values()]
            return 200, ({"data": items, "total": len(items)} if kind == "database" else items)
        if ident is None and method == "POST":
            required = {"database": ("engine", "name", "details"), "collection": ("name",),
                        "card": ("name", "dataset_query", "display", "visualization_settings"),
                        "dashboard": ("name",)}[kind]
            if any(key not in body for key in required):
                return 400, {"errors": {key: "value must be given" for key in required if key not in body}}
            obj = {**copy.deepcopy(body), "id": self._id(), "archived": False}
            if kind == "dashboard":
                obj["dashcards"] = []
            store[obj["id"]] = obj
            return 200, self._shown(kind, obj)
        obj = store.get(int(ident))
        if obj is None:
            return 404, "Not found."
        if method == "GET":
            return 200, self._shown(kind, obj)
        if method == "PUT":
            update = copy.deepcopy(body)
            if kind == "dashboard" and "dashcards" in update:
                update["dashcards"] = [{**card, "id": self._id() if card["id"] < 0 else card["id"]}
                                       for card in update["dashcards"]]
            obj.update(update)
            return 200, self._shown(kind, obj)
        return 405, "Method not allowed."

    def _session(self) -> str:
        session = str(uuid.uuid4())
        self.sessions.add(session)
        return session

    @staticmethod
    def _shown(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        shown = copy.deepcopy(obj)
        if kind == "database" and "pass" in shown.get("details", {}):
            shown["details"]["pass"] = MASK
        return shown

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake._lock:
                    fake.calls.append((self.command, self.path, body))
                    status, answer = fake.answer(self.command, self.path, body,
                                                 self.headers.get("X-Metabase-Session"))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler

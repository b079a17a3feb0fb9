"""Metabase provisioned as code through its REST API: first user, the MongoDB database, six dashboards.

``python -m medallion.serving.metabase`` (compose's one-shot ``metabase-init`` service) does, in order:

1. wait for ``GET /api/health`` to answer ``{"status": "ok"}`` (``--timeout``, default 300 s);
2. first start only (``GET /api/session/properties`` has ``has-user-setup`` false): ``POST /api/setup``
   with its ``setup-token``, the first admin from ``METABASE_ADMIN_EMAIL`` / ``METABASE_ADMIN_PASSWORD``;
3. log in (``POST /api/session``; the session id goes in ``X-Metabase-Session``);
4. the MongoDB database (engine ``mongo``) named ``METABASE_DATABASE_NAME`` (default "Medallion gold")
   with the read-only user ``MONGO_READER_USER`` / ``MONGO_READER_PASSWORD`` on ``MONGO_HOST`` /
   ``MONGO_PORT``, database ``MONGO_DATABASE``: created, or updated when its details differ; then
   ``POST /api/database/:id/sync_schema``;
5. a collection "Medallion" holding every question and dashboard;
6. the questions (cards, native MongoDB queries) and the six dashboards of
   :func:`medallion.serving.metabase_questions.dashboards`, matched by name inside that collection:
   created when missing, updated (``PUT``) when their definition differs, left alone when equal.

Idempotent: a second run with the same settings sends no creating or updating request. Endpoint
shapes follow Metabase's API documentation (``docs/api/*.md`` of the metabase/metabase repository:
``setup`` -- token, user, prefs --, ``session``, ``database``, ``collection``, ``card``, ``dashboard``);
the dashboard's cards are set in one ``PUT /api/dashboard/:id`` with ``dashcards`` (new ones with
negative ids), the form Metabase uses since 0.47 (older releases had ``PUT /api/dashboard/:id/cards``).
No Metabase server can run on the project's machines: the tests run this module against a local
HTTP server that answers these endpoints as documented and records every call
(``tests/metabase_fake.py``); it does not run queries, so a query's result is checked only by its
shape (collection and columns named in the glossary).

Exit status 0 on success; 1 with a message (no password in it) on any failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from medallion.config import Settings
from medallion.serving.metabase_questions import Question, dashboards

log = logging.getLogger("medallion.serving.metabase")

COLLECTION = "Medallion"
GRID_WIDTH = 24


class ProvisioningError(RuntimeError):
    """Metabase refused or did not answer (the message names the request)."""


@dataclass
class Report:
    """What a run did, by kind of object: lists of names."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where and as whom to provision (see the module doc for the environment variables)."""

    url: str
    admin_email: str
    admin_password: str
    mongo_host: str
    mongo_port: int
    mongo_database: str
    mongo_user: str
    mongo_password: str
    database_name: str = "Medallion gold"
    currency: str = "EUR"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Target":
        env = os.environ if environ is None else environ
        missing = [name for name in ("METABASE_ADMIN_EMAIL", "METABASE_ADMIN_PASSWORD") if not env.get(name)]
        if missing:
            raise ProvisioningError(f"set {' and '.join(missing)} (the first Metabase user; see .env.example)")
        settings = Settings.from_env(dict(env))
        return cls(url=env.get("METABASE_URL", "http://127.0.0.1:3000").rstrip("/"),
                   admin_email=env["METABASE_ADMIN_EMAIL"], admin_password=env["METABASE_ADMIN_PASSWORD"],
                   mongo_host=env.get("MONGO_HOST", "mongodb"), mongo_port=int(env.get("MONGO_PORT", "27017")),
                   mongo_database=settings.mongo_database, mongo_user=env.get("MONGO_READER_USER", ""),
                   mongo_password=env.get("MONGO_READER_PASSWORD", ""),
                   database_name=env.get("METABASE_DATABASE_NAME", "Medallion gold"), currency=settings.currency)


class Metabase:
    """A thin client of the endpoints used here."""

    def __init__(self, url: str, timeout: float = 60.0):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            answer = self.http.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise ProvisioningError(f"{method} {self.url}{path}: {type(error).__name__}: {error}") from None
        if answer.status_code >= 400:
            raise ProvisioningError(f"{method} {self.url}{path} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json() if answer.content else None

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = self.http.get("/api/health", timeout=5)
                if answer.status_code == 200 and answer.json().get("status") == "ok":
                    return
                last = f"{answer.status_code} {answer.text[:100]}"
            except (httpx.HTTPError, ValueError) as error:
                last = type(error).__name__
            time.sleep(1.0)
        raise ProvisioningError(f"Metabase at {self.url} was not healthy within {timeout:.0f} s (last: {last})")


def _listing(answer: Any) -> list[dict[str, Any]]:
    # Some list endpoints answer {"data": [...]}, others a bare list.
    return answer["data"] if isinstance(answer, dict) and "data" in answer else answer


def _login(mb: Metabase, target: Target, report: Report) -> None:
    properties = mb.call("GET", "/api/session/properties")
    if not properties.get("has-user-setup"):
        mb.call("POST", "/api/setup", {
            "token": properties["setup-token"],
            "user": {"email": target.admin_email, "password": target.admin_password,
                     "first_name": "Medallion", "last_name": "Admin", "site_name": "Medallion"},
            "prefs": {"site_name": "Medallion", "site_locale": "en", "allow_tracking": False},
        })
        report.created.append(f"user {target.admin_email}")
    try:
        session = mb.call("POST", "/api/session", {"username": target.admin_email, "password": target.admin_password})
    except ProvisioningError as error:
        raise ProvisioningError(f"logging in to Metabase as {target.admin_email} failed "
                                f"(is METABASE_ADMIN_PASSWORD the first user's password?): {error}") from None
    mb.http.headers["X-Metabase-Session"] = session["id"]


def _database(mb: Metabase, target: Target, report: Report) -> int:
    details = {"host": target.mongo_host, "port": target.mongo_port, "dbname": target.mongo_database,
               "user": target.mongo_user, "pass": target.mongo_password, "authdb": "admin",
               "ssl": False, "use-conn-uri": False, "tunnel-enabled": False}
    body = {"engine": "mongo", "name": target.database_name, "details": details}
    existing = [d for d in _listing(mb.call("GET", "/api/database")) if d["name"] == target.database_name]
    if not existing:
        database_id = mb.call("POST", "/api/database", body)["id"]
        report.created.append(f"database {target.database_name}")
    else:
        database_id = existing[0]["id"]
        current = existing[0].get("details", {})
        # Metabase answers the password masked: compare the other details.
        if existing[0].get("engine") != "mongo" or any(current.get(k) != v for k, v in details.items() if k != "pass"):
            mb.call("PUT", f"/api/database/{database_id}", body)
            report.updated.append(f"database {target.database_name}")
        else:
            report.unchanged.append(f"database {target.database_name}")
    mb.call("POST", f"/api/database/{database_id}/sync_schema")
    return database_id


def _collection(mb: Metabase, report: Report) -> int:
    for collection in _listing(mb.call("GET", "/api/collection")):
        if collection.get("name") == COLLECTION and not collection.get("archived"):
            report.unchanged.append(f"collection {COLLECTION}")
            return collection["id"]
    report.created.append(f"collection {COLLECTION}")
    return mb.call("POST", "/api/collection", {"name": COLLECTION, "description": "Provisioned from the metrics "
                                               "glossary by medallion.serving.metabase; edits are overwritten."})["id"]


def _card_body(question: Question, database_id: int, collection_id: int) -> dict[str, Any]:
    return {"name": question.name, "description": question.description, "display": question.display,
            "collection_id": collection_id, "visualization_settings": {},
            "dataset_query": {"type": "native", "database": database_id, "native": question.native_query()}}


def _differs(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(existing.get(key) != value for key, value in wanted.items())


def _cards(mb: Metabase, questions: list[Question], database_id: int, collection_id: int,
           report: Report) -> dict[str, int]:
    existing = {card["name"]: card for card in _listing(mb.call("GET", "/api/card"))
                if card.get("collection_id") == collection_id and not card.get("archived")}
    ids = {}
    for question in questions:
        body = _card_body(question, database_id, collection_id)
        card = existing.get(question.name)
        if card is None:
            ids[question.name] = mb.call("POST", "/api/card", body)["id"]
            report.created.append(f"question {question.name}")
        else:
            ids[question.name] = card["id"]
            if _differs(card, body):
                mb.call("PUT", f"/api/card/{card['id']}", body)
                report.updated.append(f"question {question.name}")
            else:
                report.unchanged.append(f"question {question.name}")
    return ids


def _layout(card_ids: list[int]) -> list[tuple[int, int, int, int, int]]:
    """(card id, row, col, size_x, size_y): two cards per row, each half the grid wide."""
    width, height = GRID_WIDTH // 2, 6
    return [(card_id, (i // 2) * height, (i % 2) * width, width, height) for i, card_id in enumerate(card_ids)]


def _dashboards(mb: Metabase, pages: dict[str, tuple[Question, ...]], card_ids: dict[str, int],
                collection_id: int, report: Report) -> None:
    existing = {d["name"]: d for d in _listing(mb.call("GET", "/api/dashboard"))
                if d.get("collection_id") == collection_id and not d.get("archived")}
    for name, questions in pages.items():
        description = f"The dashboard's {name} page, over the published gold (generated from the metrics glossary)."
        wanted = _layout([card_ids[q.name] for q in questions])
        found = existing.get(name)
        if found is None:
            dashboard_id = mb.call("POST", "/api/dashboard", {"name": name, "description": description,
                                                              "collection_id": collection_id})["id"]
            current: list[tuple[int, int, int, int, int]] = []
            report.created.append(f"dashboard {name}")
        else:
            dashboard_id = found["id"]
            dashcards = mb.call("GET", f"/api/dashboard/{dashboard_id}").get("dashcards", [])
            current = sorted((c["card_id"], c["row"], c["col"], c["size_x"], c["size_y"]) for c in dashcards)
        if current != sorted(wanted):
            mb.call("PUT", f"/api/dashboard/{dashboard_id}", {
                "dashcards": [{"id": -(i + 1), "card_id": card_id, "row": row, "col": col, "size_x": size_x,
                               "size_y": size_y, "parameter_mappings": [], "series": []}
                              for i, (card_id, row, col, size_x, size_y) in enumerate(wanted)]})
            if found is not None:
                report.updated.append(f"dashboard {name}")
        elif found is not None:
            report.unchanged.append(f"dashboard {name}")


def provision(target: Target, health_timeout: float = 300.0) -> Report:
    """Provision ``target`` (see the module doc); returns what was created, updated and left unchanged.

    Raises:
        ProvisioningError: Metabase was not healthy in time, refused a request, or the login failed.
    """
    report = Report()
    mb = Metabase(target.url)
    mb.wait_healthy(health_timeout)
    _login(mb, target, report)
    database_id = _database(mb, target, report)
    collection_id = _collection(mb, report)
    pages = dashboards(target.currency)
    unique: dict[str, Question] = {}
    for question in (q for questions in pages.values() for q in questions):
        if unique.setdefault(question.name, question) != question:
            raise ProvisioningError(f"two different questions are named {question.name!r}")
    card_ids = _cards(mb, list(unique.values()), database_id, collection_id, report)
    _dashboards(mb, pages, card_ids, collection_id, report)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m medallion.serving.metabase [--timeout S]``: provision Metabase from the environment."""
    parser = argparse.ArgumentParser(prog="python -m medallion.serving.metabase", description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for Metabase [300]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        report = provision(Target.from_env(), args.timeout)
    except ProvisioningError as error:
        print(f"metabase provisioning: {error}", file=sys.stderr)
        return 1
    print(f"Metabase provisioned: {len(report.created)} created, {len(report.updated)} updated, "
          f"{len(report.unchanged)} unchanged")
    for kind in ("created", "updated"):
        for name in getattr(report, kind):
            print(f"  {kind}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

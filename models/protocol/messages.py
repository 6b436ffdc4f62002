"""Both halves of every sync message: what the client sends and the server reads, what the
server answers and the client reads (docs/PROTOCOL.md, "Endpoints").

    GET  /api/{model}/sync/changes   changes_params      → changes_answer   / read_changes_answer
    POST /api/{model}/sync/apply     apply_request       → apply_answer     / read_apply_answer
    POST /api/{model}/sync/diff      diff_request        → diff_answer      / read_diff_answer
    GET  /api/{model}/sync/conflicts                     → conflicts_answer / read_conflicts_answer
    GET  /api/checkpoint                         → checkpoint_answer / read_checkpoint_answer

The answers of `changes`, `apply`, `diff` and `checkpoint` carry the identity of the server's
database (`"database"`, read by `read_database`): a client that sees another one than its
checkpoints were taken against resyncs (docs/PROTOCOL.md, "A server that changed"). An older
server leaves it out, and an older client ignores it.

The server's readers (`read_protocol_param`, `read_apply_request`, `read_diff_request`) raise
the protocol's 4xx errors before anything is written; the client's readers raise TransportError
naming the request when an answer is not the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..changes import Change
from ..document import Document
from ..errors import InvalidBodyError, PayloadTooLargeError, TransportError
from ..limits import parse_ascii_int
from ..outcome import Outcome
from .errors import (
    InvalidChangeError,
    InvalidDocError,
    check_answer_protocol,
    check_protocol,
)
from .limits import MAX_SYNC_DOCS, MAX_SYNC_LIMIT, PROTOCOL_VERSION
from .wire import (
    change_from_wire,
    change_to_wire,
    database_from_wire,
    database_to_wire,
    doc_from_wire,
    doc_to_wire,
    outcome_from_wire,
    outcome_to_wire,
)

# ---- the server's half ------------------------------------------------------------------------


def read_protocol_param(raw: str) -> None:
    """Refuse a `?protocol=` naming another version (ASCII digits only: never int(), which
    reads '²' as a digit and then fails)."""
    number = parse_ascii_int(raw)
    check_protocol(number if number is not None else raw)


def request_items(body: dict[str, Any], key: str) -> list[Any]:
    """`body[key]` as a list of at most MAX_SYNC_DOCS items, once `body` names this protocol."""
    check_protocol(body.get("protocol"))
    items = body.get(key)
    if not isinstance(items, list):
        raise InvalidBodyError(f"{key} must be an array", {key: ["must be an array"]})
    if len(items) > MAX_SYNC_DOCS:
        raise PayloadTooLargeError(
            f"{len(items)} {key} in one request; send at most {MAX_SYNC_DOCS} per request",
            {"max_items": MAX_SYNC_DOCS, "items": len(items)},
        )
    return items


def read_apply_request(model: str, body: dict[str, Any]) -> list[Document]:
    """The docs of a push, every one checked: one that is not a protocol doc refuses them all."""
    docs = []
    for index, raw in enumerate(request_items(body, "docs")):
        try:
            docs.append(doc_from_wire(model, raw))
        except ValueError as exc:
            id = raw.get("id") if isinstance(raw, dict) else None
            raise InvalidDocError(
                f"docs[{index}] is not a protocol doc: {exc}; nothing was written",
                {"index": index, "id": id if isinstance(id, str) else None,
                 "message": str(exc)},
            ) from None
    return docs


def read_diff_request(model: str, body: dict[str, Any]) -> list[Change]:
    """The changes of a diff request, every one checked."""
    changes = []
    for index, raw in enumerate(request_items(body, "changes")):
        try:
            changes.append(change_from_wire(model, raw))
        except KeyError as exc:
            raise InvalidChangeError(
                f"changes[{index}] has no {exc.args[0]!r}",
                {"index": index, "message": f"missing {exc.args[0]!r}"},
            ) from None
        except (ValueError, TypeError) as exc:
            raise InvalidChangeError(
                f"changes[{index}] is not a change: {exc}",
                {"index": index, "message": str(exc)},
            ) from None
    return changes


def _with_database(answer: dict[str, Any], database: int | None) -> dict[str, Any]:
    if database is not None:
        answer["database"] = database_to_wire(database)
    return answer


def changes_answer(docs: list[Document], checkpoint: int, remaining: int,
                   database: int | None = None, version: int = 1,
                   owners: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`version`: the model version of the docs (left out when 1, as older servers did).
    `owners`: for a model whose documents belong to groups, every owner whose documents the user
    may read now; a client forgets what it holds of any other (docs/PROTOCOL.md, "Access that
    changes")."""
    answer = _with_database({"protocol": PROTOCOL_VERSION,
                             "docs": [doc_to_wire(doc) for doc in docs],
                             "checkpoint": checkpoint, "remaining": remaining}, database)
    if owners is not None:
        answer["owners"] = list(owners)
    return _with_version(answer, version)


def _with_version(message: dict[str, Any], version: int) -> dict[str, Any]:
    """A message naming the model version of its docs (docs/PROTOCOL.md, "Model versions")."""
    if version != 1:
        message["version"] = version
    return message


def apply_answer(outcomes: list[Outcome], checkpoint: int,
                 database: int | None = None) -> dict[str, Any]:
    return _with_database({"protocol": PROTOCOL_VERSION,
                           "results": [outcome_to_wire(outcome) for outcome in outcomes],
                           "checkpoint": checkpoint}, database)


def diff_answer(missing: list[str], conflicts: list[str],
                database: int | None = None) -> dict[str, Any]:
    return _with_database({"protocol": PROTOCOL_VERSION, "missing": missing,
                           "conflicts": conflicts}, database)


def checkpoint_answer(checkpoint: int, database: int | None = None) -> dict[str, Any]:
    """`/api/checkpoint`'s answer (no protocol version: it predates them)."""
    return _with_database({"checkpoint": checkpoint}, database)


def conflicts_answer(pairs: list[tuple[Document | None, Document]]) -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "conflicts": [
        {"mine": doc_to_wire(mine) if mine is not None else None, "theirs": doc_to_wire(theirs)}
        for mine, theirs in pairs
    ]}


# ---- the client's half ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesPage:
    """A `/sync/changes` answer: the docs, the next `since`, how many changed after it, and the
    identity of the database that served it (None from an older server)."""

    docs: list[Document]
    checkpoint: Any
    remaining: Any
    database: int | None = None
    version: int = 1  # the model version of the docs (1 from an older server)
    owners: tuple[str, ...] | None = None  # what the user may read now (None: not told)


def read_database(body: dict[str, Any], where: str) -> int | None:
    """The identity an answer names (None when it names none: an older server); TransportError
    naming `where` when it is not one."""
    if "database" not in body:
        return None
    try:
        return database_from_wire(body["database"])
    except ValueError as exc:
        raise TransportError(f"{where}: {exc}") from None


def changes_params(since: int, limit: int, full: bool = False,
                   version: int = 1) -> dict[str, str]:
    """The query of a pull; `limit` is clamped to what the server serves; `version` is the
    client's model version."""
    params = {"since": str(since), "limit": str(max(0, min(limit, MAX_SYNC_LIMIT))),
              "protocol": str(PROTOCOL_VERSION)}
    if version != 1:
        params["version"] = str(version)
    if full:
        params["full"] = "1"
    return params


def apply_request(docs: list[Document], version: int = 1) -> dict[str, Any]:
    """A push of `docs`, written under model version `version`."""
    return _with_version({"protocol": PROTOCOL_VERSION,
                          "docs": [doc_to_wire(doc) for doc in docs]}, version)


def diff_request(changes: list[Change]) -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "changes": [change_to_wire(c) for c in changes]}


def read_answer_doc(model: str, raw: Any, path: str) -> Document:
    """A doc the server sent; TransportError naming `path` if it is not a protocol doc."""
    try:
        return doc_from_wire(model, raw)
    except ValueError as exc:
        raise TransportError(f"{path}: the server sent a bad doc: {exc}") from None


def read_changes_answer(model: str, body: Any, path: str, *, with_docs: bool = True
                        ) -> ChangesPage:
    """A pull's answer (`with_docs=False`: only its counts, as `pending` asks with limit 0)."""
    body = check_answer_protocol(body, f"GET {path}", "docs", "checkpoint", "remaining")
    docs = []
    if with_docs:
        if not isinstance(body["docs"], list):
            raise TransportError(f"GET {path}: docs is not a list")
        docs = [read_answer_doc(model, raw, path) for raw in body["docs"]]
    version = body.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TransportError(f"GET {path}: version is not a positive integer")
    owners = body.get("owners")
    if owners is not None and (not isinstance(owners, list)
                               or not all(isinstance(o, str) for o in owners)):
        raise TransportError(f"GET {path}: owners is not a list of strings")
    return ChangesPage(docs, body["checkpoint"], body["remaining"],
                       read_database(body, f"GET {path}"), version,
                       None if owners is None else tuple(owners))


def read_apply_answer(model: str, body: Any, sent: int, path: str) -> list[Outcome]:
    """A push's answer: one outcome per doc of the `sent` docs, in order."""
    results = check_answer_protocol(body, f"POST {path}", "results")["results"]
    if not isinstance(results, list) or len(results) != sent:
        raise TransportError(f"POST {path}: {sent} docs sent, results do not match")
    outcomes = []
    for item in results:
        try:
            outcomes.append(outcome_from_wire(
                item, lambda raw: read_answer_doc(model, raw, path)))
        except ValueError as exc:
            raise TransportError(f"POST {path}: {exc}") from None
    return outcomes


def read_checkpoint_answer(body: Any, path: str) -> tuple[int, int | None]:
    """`/api/checkpoint`'s answer: (the checkpoint, the database's identity or None)."""
    checkpoint = body.get("checkpoint") if isinstance(body, dict) else None
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 0:
        raise TransportError(f"GET {path}: the answer holds no checkpoint")
    return checkpoint, read_database(body, f"GET {path}")


def read_diff_answer(body: Any, path: str) -> dict[str, list[str]]:
    body = check_answer_protocol(body, f"POST {path}", "missing", "conflicts")
    return {"missing": list(body["missing"]), "conflicts": list(body["conflicts"])}


def read_conflicts_answer(model: str, body: Any, path: str
                          ) -> list[tuple[Document | None, Document]]:
    body = check_answer_protocol(body, f"GET {path}", "conflicts")
    pairs = body["conflicts"]
    if not isinstance(pairs, list) or not all(isinstance(pair, dict) for pair in pairs):
        raise TransportError(f"GET {path}: conflicts is not a list of pairs")
    return [
        (None if pair.get("mine") is None else read_answer_doc(model, pair["mine"], path),
         read_answer_doc(model, pair.get("theirs"), path))
        for pair in pairs
    ]


__all__ = ["ChangesPage", "apply_answer", "apply_request", "changes_answer", "changes_params",
           "checkpoint_answer", "conflicts_answer", "diff_answer", "diff_request",
           "read_answer_doc", "read_apply_answer", "read_apply_request", "read_changes_answer",
           "read_checkpoint_answer", "read_conflicts_answer", "read_database", "read_diff_answer",
           "read_diff_request", "read_protocol_param", "request_items"]

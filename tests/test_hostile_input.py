"""Hostile input against the real app on a real SQLite file: every class of bad request gets a 4xx
in the usual error body (or, for a pushed doc the model refuses, a `rejected` outcome carrying
that body), the database is byte-for-byte what it was, and nothing crashes or drops the
connection. Each class is sent in many variants, to every endpoint that reads it: REST (find,
count, create, replace, update, delete; `filter`, `where`, query parameters, bodies,
path ids, `If-Match`), the sync endpoints (changes, apply, diff), and the JSON and form log-in
and registration.

The classes: lone UTF-16 surrogates (JSON escapes, raw bytes, percent-encoded bytes); numbers
past 64 bits or overflowing to infinity, and dates that leave years 1-9999 in UTC; query shapes
past the documented limits (models/filters.py); JSON nested too deep; non-ASCII digits in
integer parameters; revisions that are not exactly `<1-9 digits>-<32 hex>`; tombstones and
unknown keys in pushed docs; bodies of millions of tiny items (memory, measured with tracemalloc:
no timing anywhere).
"""

from __future__ import annotations

import gc
import json
import sqlite3
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from models import MemoryStore, Number, String, Todo, ValidationError, strict_json
from models.errors import FilterError
from models.filters import (
    MAX_ORDER_TERMS,
    MAX_PATTERN_LENGTH,
    MAX_WHERE_CONDITIONS,
    MAX_WHERE_DEPTH,
    MAX_WHERE_VALUES,
)
from models.protocol import DEFAULT_MAX_SYNC_BODY_BYTES, MAX_SYNC_VALUES, doc_to_wire
from models.revisions import MAX_GENERATION
from models.todo import Todo as _Todo
from server import create_app
from server.body import MAX_DEPTH
from server.errors import error_response
from tests.auth_helpers import PASSWORD, sign_up

PULL = {"version": str(_Todo.version)}  # a pull names the model version it runs
V = f"version={_Todo.version}&"

TODOS = "/api/todos"
APPLY = "/api/todos/sync/apply"
DIFF = "/api/todos/sync/diff"
SYNC_CHANGES = "/api/todos/sync/changes"
HEX = "0123456789abcdef" * 2
REV = "1-" + HEX
MARK = "@@MARK@@"  # where a variant goes in a body template

SURROGATES = {"escape": b"\\ud800", "escape-low": b"\\udfff", "escape-reversed": b"\\udc00\\ud800",
              "raw-bytes": b"\xed\xa0\x80", "raw-low": b"\xed\xbf\xbf"}
BIG_NUMBERS = {"400-digits": "9" * 400, "2^64": str(2**64), "2^63": str(2**63),
               "-2^63-1": str(-(2**63) - 1), "1e400": "1e400", "-1e400": "-1e400",
               "1e309": "1e309", "4301-digits": "1" * 4301}


# ---- the app, a signed-in client, and what "nothing written" means ----------------------------

@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hostile.db"


@pytest.fixture
def app(db_path: Path, tmp_path: Path):
    return create_app(f"sqlite:///{db_path}", web_dir=tmp_path / "web")  # the default limits


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        # raise_app_exceptions=False: a crash is seen as the 500 a client would get
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.account = await sign_up(client)
            made = await client.post(TODOS, json={"title": "already there"})
            assert made.status_code == 201, made.text
            client.todo = made.json()
            yield client


def snapshot(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read through a second connection to the real file."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(map(tuple, db.execute(f'SELECT * FROM "{table}"')), key=repr)
                for table in tables}
    finally:
        db.close()


def check_error_body(response: httpx.Response) -> dict:
    """A 4xx whose body is the usual `{"error": {...}}`, valid UTF-8 JSON."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = json.loads(response.content.decode("utf-8"))
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}, error
    assert error["status"] == response.status_code and error["code"] and error["message"]
    assert isinstance(error["details"], dict)
    return error


async def refused(client: httpx.AsyncClient, db_path: Path, method: str, url: str, *,
                  content: bytes | None = None, headers: dict | None = None,
                  code: str | None = None, status: int | None = None) -> dict:
    """Send one hostile request; assert a 4xx in the usual body and an untouched database."""
    before = snapshot(db_path)
    if content is not None:
        headers = {"content-type": "application/json", **(headers or {})}
    response = await client.request(method, url, content=content, headers=headers)
    error = check_error_body(response)
    if code is not None:
        assert error["code"] == code, error
    if status is not None:
        assert response.status_code == status, error
    assert snapshot(db_path) == before, "a refused request wrote to the database"
    return error


async def rejected(client: httpx.AsyncClient, db_path: Path, docs: list[dict]) -> list[dict]:
    """Push `docs`; assert every one is `rejected` with the usual error object, nothing written."""
    before = snapshot(db_path)
    response = await client.post(APPLY, json={"protocol": 1, "docs": docs})
    assert response.status_code == 200, response.text[:500]
    results = response.json()["results"]
    errors = []
    for result in results:
        assert result["status"] == "rejected" and result["current"] is None, result
        error = result["error"]
        assert set(error) == {"status", "code", "message", "details"}, error
        assert 400 <= error["status"] < 500
        errors.append(error)
    assert snapshot(db_path) == before, "a rejected doc was written"
    return errors


def body(template: dict, variant: bytes, *, quoted: bool = True) -> bytes:
    """`template` as JSON with the string MARK replaced by raw `variant` bytes (inside the
    string's quotes when `quoted`, else replacing the quoted string: for numbers)."""
    text = json.dumps(template).encode()
    target = MARK.encode() if quoted else json.dumps(MARK).encode()
    assert target in text
    return text.replace(target, variant)


async def wire_doc(owner: str, **changes) -> dict:
    """A valid wire doc of `owner`'s (made by the model in a memory store), then `changes`."""
    store = MemoryStore()
    await Todo.using(store).as_user(owner).create(title="pushed")
    doc = doc_to_wire((await store.feed("todos", 0, 10))[0])
    doc.update(changes)
    return doc


def body_templates(client) -> list[tuple[str, str, dict]]:
    """(method, url, body with MARK in a string) for every endpoint that reads a JSON body; the
    MARK sits in a title, an id, a field name, a username, a password, a revision..."""
    seed = client.todo["id"]
    me = client.account.id
    data = {"id": "pushed1", "title": MARK, "completed": False, "order": 1, "owner": me,
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"}
    doc = {"id": "pushed1", "rev": REV, "history": [], "deleted": False, "data": data,
           "type": "create", "checkpoint": 1, "base_rev": None, "owner": me}

    def with_doc(**changes) -> dict:
        return {"protocol": 1, "docs": [{**doc, **changes}]}

    change = {"id": "pushed1", "rev": REV, "prev": None, "checkpoint": 1, "type": "create"}
    return [
        ("POST", TODOS, {"title": MARK}),
        ("POST", TODOS, {"title": "fine", "id": MARK}),
        ("POST", TODOS, {"title": "fine", MARK: 1}),
        ("POST", TODOS, {"title": "fine", "created_at": MARK}),
        ("PUT", f"{TODOS}/{seed}", {"title": MARK}),
        ("PUT", f"{TODOS}/{seed}", {"title": "fine", MARK: True}),
        ("PATCH", f"{TODOS}/{seed}", {"title": MARK}),
        ("PATCH", f"{TODOS}/{seed}", {MARK: "x"}),
        ("POST", APPLY, with_doc()),
        ("POST", APPLY, with_doc(id=MARK)),
        ("POST", APPLY, with_doc(data={**data, "title": "fine", MARK: 1})),
        ("POST", APPLY, with_doc(rev=MARK)),
        ("POST", APPLY, with_doc(history=[MARK])),
        ("POST", APPLY, with_doc(deleted=True, data=None, id=MARK)),
        ("POST", APPLY, with_doc(deleted=True, data=None, owner=MARK)),
        ("POST", APPLY, with_doc(base_rev=REV, base_data={**data, "title": MARK})),
        ("POST", DIFF, {"protocol": 1, "changes": [{**change, "id": MARK}]}),
        ("POST", DIFF, {"protocol": 1, "changes": [{**change, "rev": MARK}]}),
        ("POST", "/api/auth/login", {"username": MARK, "password": PASSWORD}),
        ("POST", "/api/auth/login", {"username": client.account.username, "password": MARK}),
        ("POST", "/api/auth/register", {"username": MARK, "password": PASSWORD}),
        ("POST", "/api/auth/register", {"username": "newcomer", "password": PASSWORD + MARK}),
    ]


# ---- lone surrogates --------------------------------------------------------------------------

@pytest.mark.parametrize("variant", list(SURROGATES), ids=list(SURROGATES))
async def test_lone_surrogates_in_any_body_are_refused(client, db_path, variant):
    for method, url, template in body_templates(client):
        error = await refused(client, db_path, method, url,
                              content=body(template, SURROGATES[variant]))
        assert error["code"] in ("INVALID_BODY", "MALFORMED_JSON"), (url, template, error)


async def test_u0000_in_any_body_is_refused(client, db_path):
    """`\\u0000` is valid JSON but no text PostgreSQL stores can hold it: every store refuses it
    the same way, with the usual body, and nothing is written."""
    for method, url, template in body_templates(client):
        error = await refused(client, db_path, method, url, content=body(template, b"a\\u0000b"))
        assert error["code"] in ("INVALID_BODY", "VALIDATION_FAILED", "INVALID_CHANGE"), (
            url, template, error)


async def test_a_surrogate_pair_is_text_and_is_stored(client, db_path):
    """The legitimate neighbour: an escaped pair is one character (U+1F600) and is kept."""
    response = await client.post(TODOS, content=b'{"title": "smile \\ud83d\\ude00"}',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "smile \U0001f600"


FILTER_SURROGATES = [
    ("filter", '{"where": {"title": "\\ud800"}}'),
    ("filter", '{"where": {"\\ud800": 1}}'),
    ("filter", '{"where": {"title": {"inq": ["a", "\\udfff"]}}}'),
    ("filter", '{"where": {"title": {"like": "%\\ud800%"}}}'),
    ("filter", '{"order": "\\ud800 ASC"}'),
    ("filter", '{"\\ud800": 1}'),
    ("where", '{"title": "\\ud800"}'),
    ("where", '{"or": [{"title": "x"}, {"owner": "\\ud800"}]}'),
]


@pytest.mark.parametrize("param, value", FILTER_SURROGATES)
async def test_lone_surrogates_in_filter_and_where_are_refused(client, db_path, param, value):
    url = f"{TODOS}/count" if param == "where" else TODOS
    error = await refused(client, db_path, "GET", url + f"?{param}={quote(value)}",
                          code="INVALID_FILTER")
    assert "surrogate" in error["message"] or "unknown" in error["message"], error


PERCENT_ENCODED = ["%ED%A0%80", "%ED%BF%BF", "%FF", "%C3", "%E2%82"]


@pytest.mark.parametrize("raw", PERCENT_ENCODED)
async def test_urls_that_are_not_utf8_are_refused(client, db_path, raw):
    seed = client.todo["id"]
    urls = [
        ("GET", f"{TODOS}?filter=" + quote('{"where":{"title":"') + raw + quote('"}}')),
        ("GET", f"{TODOS}/count?where=" + quote('{"title":"') + raw + quote('"}')),
        ("GET", f"{SYNC_CHANGES}?{V}since={raw}"),
        ("GET", f"{SYNC_CHANGES}?{V}limit=1{raw}"),
        ("GET", f"{TODOS}/{raw}"),
        ("PATCH", f"{TODOS}/{seed}{raw}"),
        ("DELETE", f"{TODOS}/{raw}"),
        ("PUT", f"{TODOS}/{raw}"),
    ]
    for method, url in urls:
        content = b'{"title": "x"}' if method in ("PUT", "PATCH") else None
        await refused(client, db_path, method, url, content=content, code="INVALID_PARAMETER")


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("page", ["/login", "/register"])
async def test_forms_refuse_text_that_is_not_utf8(client, db_path, field, page):
    values = {"username": "formuser", "password": PASSWORD}
    for raw in PERCENT_ENCODED:
        encoded = "&".join(f"{k}={quote(v) if k != field else raw}" for k, v in values.items())
        before = snapshot(db_path)
        response = await client.post(page, content=encoded.encode(), headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, (page, raw, response.status_code)
        assert "not valid UTF-8" in response.text and "set-cookie" not in response.headers
        assert snapshot(db_path) == before


def test_error_bodies_are_encodable_whatever_they_echo():
    """The error encoder itself never fails on the input it reports."""
    details = {"\ud800": ["is not a field of this model"], "order": float("inf"),
               "big": 10**400, "deep": [[[[[[[[[[["x"]]]]]]]]]]], "long": "x" * 100_000,
               "many": list(range(5000)), "object": object()}
    response = error_response(422, "VALIDATION_FAILED", "Todo is invalid: \udfff", details)
    error = json.loads(response.body.decode("utf-8"))["error"]
    assert error["message"] == "Todo is invalid: \ufffd"
    assert "\ufffd" in error["details"] and error["details"]["order"] == "inf"
    assert len(error["details"]["long"]) < 2000 and len(error["details"]["many"]) < 2000


# ---- numbers and dates no store can hold ------------------------------------------------------

def number_templates(client) -> list[tuple[str, str, dict]]:
    seed = client.todo["id"]
    me = client.account.id
    data = {"id": "pushed2", "title": "fine", "completed": False, "order": MARK, "owner": me,
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"}
    doc = {"id": "pushed2", "rev": REV, "history": [], "deleted": False, "data": data,
           "type": "create", "checkpoint": 1, "base_rev": None, "owner": me}
    fine = {**data, "order": 1}
    change = {"id": "pushed2", "rev": REV, "prev": None, "checkpoint": MARK, "type": "create"}
    return [
        ("POST", TODOS, {"title": "fine", "order": MARK}),
        ("PUT", f"{TODOS}/{seed}", {"title": "fine", "order": MARK}),
        ("PATCH", f"{TODOS}/{seed}", {"order": MARK}),
        ("PATCH", f"{TODOS}/{seed}", {"completed": MARK}),
        ("POST", APPLY, {"protocol": 1, "docs": [doc]}),
        ("POST", APPLY, {"protocol": 1, "docs": [{**doc, "data": fine, "checkpoint": MARK}]}),
        ("POST", APPLY, {"protocol": 1, "docs": [{**doc, "data": fine, "base_rev": REV,
                                                  "base_data": data}]}),
        ("POST", APPLY, {"protocol": MARK, "docs": []}),
        ("POST", DIFF, {"protocol": 1, "changes": [change]}),
        ("POST", "/api/auth/login", {"username": MARK, "password": PASSWORD}),
    ]


@pytest.mark.parametrize("number", list(BIG_NUMBERS), ids=list(BIG_NUMBERS))
async def test_numbers_past_64_bits_or_infinite_are_refused_in_any_body(client, db_path, number):
    for method, url, template in number_templates(client):
        content = body(template, BIG_NUMBERS[number].encode(), quoted=False)
        error = await refused(client, db_path, method, url, content=content)
        assert error["code"] in ("INVALID_BODY", "MALFORMED_JSON"), (url, error)
        assert "out of range" in error["message"] or "overflows" in error["message"] \
            or "not valid JSON" in error["message"], error


@pytest.mark.parametrize("number", list(BIG_NUMBERS), ids=list(BIG_NUMBERS))
async def test_numbers_past_64_bits_or_infinite_are_refused_in_filters(client, db_path, number):
    n = BIG_NUMBERS[number]
    filters = [
        f'{{"where": {{"order": {n}}}}}', f'{{"where": {{"order": {{"gt": {n}}}}}}}',
        f'{{"where": {{"order": {{"inq": [1, {n}]}}}}}}',
        f'{{"where": {{"order": {{"between": [0, {n}]}}}}}}',
        f'{{"skip": {n}}}', f'{{"limit": {n}}}', f'{{"offset": {n}}}',
    ]
    for text in filters:
        await refused(client, db_path, "GET", f"{TODOS}?filter={quote(text)}",
                      code="INVALID_FILTER")
    await refused(client, db_path, "GET", f"{TODOS}/count?where=" + quote(f'{{"order": {n}}}'),
                  code="INVALID_FILTER")


@pytest.mark.parametrize("value", ["9" * 400, str(2**63), str(2**64), "-1", "1e400", "1.5"])
async def test_integer_parameters_out_of_range_are_refused(client, db_path, value):
    for url in (f"{SYNC_CHANGES}?{V}since={value}",
                f"{SYNC_CHANGES}?{V}limit={value}"):
        await refused(client, db_path, "GET", url, code="INVALID_PARAMETER")


async def test_the_largest_integers_are_fine(client, db_path):
    """The legitimate edge: 2^63-1 is a checkpoint, an order, a skip the store can hold."""
    response = await client.get(SYNC_CHANGES, params={**PULL, "since": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["docs"] == []
    response = await client.get(TODOS, params={"filter": json.dumps({"skip": 2**63 - 1})})
    assert response.status_code == 200 and response.json() == []
    made = await client.post(TODOS, json={"title": "last", "order": 2**63 - 1})
    assert made.status_code == 201 and made.json()["order"] == 2**63 - 1
    found = await client.get(TODOS, params={"filter": json.dumps(
        {"where": {"order": {"gte": 2**63 - 1}}})})
    assert [t["title"] for t in found.json()] == ["last"]


OVERFLOWING_DATES = ["9999-12-31T23:59:59-14:00", "9999-12-31T23:00:00-01:00",
                     "0001-01-01T00:00:00+14:00", "0001-01-01T00:59:59+01:00"]


@pytest.mark.parametrize("moment", OVERFLOWING_DATES)
async def test_dates_that_overflow_in_utc_are_refused(client, db_path, moment):
    error = await refused(client, db_path, "POST", TODOS, code="VALIDATION_FAILED",
                          content=json.dumps({"title": "x", "created_at": moment}).encode())
    assert "created_at" in error["details"], error
    doc = await wire_doc(client.account.id)
    doc["data"]["created_at"] = moment
    [error] = await rejected(client, db_path, [doc])
    assert error["code"] == "VALIDATION_FAILED" and "created_at" in error["details"]


async def test_year_one_is_stored_in_four_digits_and_stays_editable(client):
    made = await client.post(TODOS, json={"title": "old", "created_at": "0001-01-01T00:00:00Z"})
    assert made.status_code == 201 and made.json()["created_at"] == "0001-01-01T00:00:00.000Z"
    patched = await client.patch(f"{TODOS}/{made.json()['id']}", json={"completed": True})
    assert patched.status_code == 200, patched.text


# ---- query shapes past the documented limits --------------------------------------------------

def nested(op: str, depth: int) -> dict:
    where: dict = {"title": "x"}
    for _ in range(depth):
        where = {op: [where]}
    return where


def param_value(text: str) -> str:
    """`text` percent-encoded for a query string, keeping JSON punctuation readable (httpx
    allows URLs of at most 64 KiB)."""
    return quote(text, safe=',:[]{}"')


def too_big_queries() -> list[tuple[str, object, str]]:
    """(parameter, value, the limit the message must name)."""
    conditions = [{"order": i} for i in range(MAX_WHERE_CONDITIONS + 1)]
    return [
        ("where", nested("and", MAX_WHERE_DEPTH + 1), str(MAX_WHERE_DEPTH)),
        ("where", nested("or", 45), str(MAX_WHERE_DEPTH)),
        ("where", {"and": [{"or": [nested("and", MAX_WHERE_DEPTH - 1)]}]}, str(MAX_WHERE_DEPTH)),
        ("where", {"and": conditions}, str(MAX_WHERE_CONDITIONS)),
        ("where", {"or": [{"and": conditions[:200]}, {"and": conditions[200:]}]},
         str(MAX_WHERE_CONDITIONS)),
        ("where", {"order": {"inq": [7] * (MAX_WHERE_VALUES + 1)}}, str(MAX_WHERE_VALUES)),
        ("where", {"and": [{"order": {"nin": [7] * 6000}}, {"order": {"inq": [7] * 6000}}]},
         str(MAX_WHERE_VALUES)),
        ("where", {"title": {"like": "%" * (MAX_PATTERN_LENGTH + 1)}}, str(MAX_PATTERN_LENGTH)),
        ("order", ["title ASC"] * (MAX_ORDER_TERMS + 1), str(MAX_ORDER_TERMS)),
        ("order", ["order DESC"] * 2100, str(MAX_ORDER_TERMS)),
    ]


@pytest.mark.parametrize("param, value, limit", too_big_queries(),
                         ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(too_big_queries())])
async def test_query_shapes_past_the_limits_are_refused_naming_the_limit(
        client, db_path, param, value, limit):
    text = json.dumps({param: value}, separators=(",", ":"))
    error = await refused(client, db_path, "GET", f"{TODOS}?filter={param_value(text)}",
                          code="INVALID_FILTER")
    assert limit in error["message"], error
    if param == "where":
        where = json.dumps(value, separators=(",", ":"))
        error = await refused(client, db_path, "GET", f"{TODOS}/count?where={param_value(where)}",
                              code="INVALID_FILTER")
        assert limit in error["message"], error


async def test_query_shapes_at_the_limits_run(client):
    """At each limit the query runs (and the server's own owner condition on top is no
    extra level or condition the user pays for)."""
    conditions = [{"order": {"neq": i}} for i in range(MAX_WHERE_CONDITIONS - 1)]
    at_limit = [
        {"where": nested("and", MAX_WHERE_DEPTH)},
        {"where": {"and": [*conditions, {"title": "already there"}]}},
        {"where": {"order": {"nin": [7] * MAX_WHERE_VALUES}}},
        {"where": {"title": {"like": "%" * MAX_PATTERN_LENGTH}}},
        {"order": ["title ASC"] * MAX_ORDER_TERMS},
    ]
    for query in at_limit:
        text = json.dumps(query, separators=(",", ":"))
        response = await client.get(f"{TODOS}?filter={param_value(text)}")
        assert response.status_code == 200, (query.keys(), response.text[:300])
        where = json.dumps(query.get("where", {}), separators=(",", ":"))
        count = await client.get(f"{TODOS}/count?where={param_value(where)}")
        assert count.status_code == 200, count.text[:300]
        if query is at_limit[1]:
            assert [t["title"] for t in response.json()] == ["already there"]
            assert count.json() == {"count": 1}


DEEP_JSON = {
    "arrays-5000": "[" * 5000 + "]" * 5000,
    "objects-3000": '{"a":' * 3000 + "1" + "}" * 3000,
    "where-3000": '{"where":{"title":' + "[" * 3000 + "]" * 3000 + "}}",
    "order-3000": '{"order":' + "[" * 3000 + "]" * 3000 + "}",
    "unclosed-9000": "[" * 9000,
}


@pytest.mark.parametrize("name", list(DEEP_JSON))
async def test_json_nested_thousands_deep_in_a_parameter_is_refused(client, db_path, name):
    text = DEEP_JSON[name]
    await refused(client, db_path, "GET", f"{TODOS}?filter={quote(text)}", code="INVALID_FILTER")
    await refused(client, db_path, "GET", f"{TODOS}/count?where={quote(text)}",
                  code="INVALID_FILTER")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 5000])
async def test_bodies_nested_too_deep_are_refused(client, db_path, depth):
    seed = client.todo["id"]
    deep = b"[" * depth + b"]" * depth
    for method, url in (("POST", TODOS), ("PUT", f"{TODOS}/{seed}"),
                        ("PATCH", f"{TODOS}/{seed}"), ("POST", APPLY), ("POST", DIFF),
                        ("POST", "/api/auth/login"), ("POST", "/api/auth/register")):
        content = b'{"title": ' + deep + b', "protocol": 1, "docs": ' + deep + b"}"
        error = await refused(client, db_path, method, url, content=content)
        if url.startswith("/api/auth/") and len(content) > 16 * 1024:
            assert error["code"] == "PAYLOAD_TOO_LARGE"  # log-in bodies are 16 KiB at most
            continue
        assert error["code"] == "INVALID_BODY" and str(MAX_DEPTH) in error["message"], error


# ---- non-ASCII digits in integer parameters ---------------------------------------------------

NOT_ASCII_INTEGERS = ["²", "¹", "٣", "１", "߁", "1_0", "+1", " 1", "1 ", "0x10", "1e3", "--1"]


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
async def test_integer_parameters_take_ascii_digits_only(client, db_path, value):
    v = quote(value)
    await refused(client, db_path, "GET", f"{SYNC_CHANGES}?{V}protocol={v}",
                  code="PROTOCOL_MISMATCH")
    for url in (f"{SYNC_CHANGES}?{V}since={v}", f"{SYNC_CHANGES}?{V}limit={v}"):
        await refused(client, db_path, "GET", url, code="INVALID_PARAMETER")


async def test_ascii_integer_parameters_still_work(client):
    for url in (f"{SYNC_CHANGES}?{V}protocol=1&since=0&limit=5",
                f"{SYNC_CHANGES}?{V}since=0&limit=1"):
        response = await client.get(url)
        assert response.status_code == 200, response.text


# ---- revisions that would break a document later ----------------------------------------------

BAD_REVISIONS = {
    "trailing-newline": REV + "\n", "leading-space": " " + REV,
    "5000-digit-generation": "5" * 5000 + "-" + HEX, "10-digit-generation": "1234567890-" + HEX,
    "leading-zero": "01-" + HEX, "generation-0": "0-" + HEX, "superscript-generation": "²-" + HEX,
    "arabic-generation": "٣-" + HEX, "upper-hex": "1-" + HEX.upper(),
    "short-hash": "1-" + HEX[1:], "long-hash": REV + "0", "no-dash": "1" + HEX,
    "crlf-inside": "1-" + HEX[:16] + "\r\n" + HEX[18:], "number": 1, "empty": "",
}


@pytest.mark.parametrize("name", list(BAD_REVISIONS))
async def test_revisions_must_match_exactly_everywhere(client, db_path, name):
    bad = BAD_REVISIONS[name]
    me = client.account.id
    for changes in ({"rev": bad}, {"history": [REV, bad]}, {"base_rev": bad},
                    {"deleted": True, "data": None, "rev": bad}):
        doc = await wire_doc(me, **changes)
        error = await refused(client, db_path, "POST", APPLY, code="INVALID_DOC",
                              content=json.dumps({"protocol": 1, "docs": [doc]}).encode())
        assert "revision" in error["message"], error
    change = {"id": "x1", "rev": "2-" + HEX, "prev": REV, "checkpoint": 1, "type": "update"}
    for changes in ({"rev": bad}, {"prev": bad}, {"history": [bad]}):
        await refused(client, db_path, "POST", DIFF, code="INVALID_CHANGE", content=json.dumps(
            {"protocol": 1, "changes": [{**change, **changes}]}).encode())


async def test_a_history_longer_than_any_store_keeps_is_not_a_wire_doc(client, db_path):
    doc = await wire_doc(client.account.id, history=[f"{g}-{HEX}" for g in range(1, 1002)])
    error = await refused(client, db_path, "POST", APPLY, code="INVALID_DOC",
                          content=json.dumps({"protocol": 1, "docs": [doc]}).encode())
    assert "1000" in error["message"], error


IF_MATCH = ["1-abc", "5" * 5000 + "-" + HEX, "²-" + HEX, "1-" + HEX.upper(), "garbage",
            '"' + REV + '"x', "W/" + "0-" + HEX, "*x", REV + "\u00e9"]


@pytest.mark.parametrize("value", IF_MATCH, ids=range(len(IF_MATCH)))
async def test_if_match_must_be_star_or_a_revision(client, db_path, value):
    seed = client.todo["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        content = None if method == "DELETE" else b'{"title": "x"}'
        await refused(client, db_path, method, f"{TODOS}/{seed}", content=content,
                      headers={"If-Match": value.encode("utf-8")}, code="INVALID_PARAMETER")


async def test_a_revision_at_the_largest_generation_takes_no_write_but_reads_fine(client, db_path):
    me = client.account.id
    doc = await wire_doc(me, rev=f"{MAX_GENERATION}-{HEX}")
    response = await client.post(APPLY, json={"protocol": 1, "docs": [doc]})
    assert [r["status"] for r in response.json()["results"]] == ["applied"], response.text
    got = await client.get(f"{TODOS}/{doc['id']}")
    assert got.status_code == 200 and got.headers["etag"] == f'"{MAX_GENERATION}-{HEX}"'
    await refused(client, db_path, "PATCH", f"{TODOS}/{doc['id']}", code="REVISION_LIMIT",
                  content=b'{"completed": true}')
    await refused(client, db_path, "DELETE", f"{TODOS}/{doc['id']}", code="REVISION_LIMIT")


# ---- tombstones and unknown keys in pushed docs -----------------------------------------------

BAD_IDS = ["../../x", "a b", "x" * 100_000, "abc\n", "é", "a/b", "x" * 65, "a.b", "-\t-", "%2e"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=range(len(BAD_IDS)))
async def test_pushed_docs_and_tombstones_need_the_id_rest_needs(client, db_path, bad):
    me = client.account.id
    rest = await refused(client, db_path, "POST", TODOS, code="VALIDATION_FAILED",
                         content=json.dumps({"title": "x", "id": bad}).encode())
    tombstone = await wire_doc(me, id=bad, deleted=True, data=None, type="delete")
    live = await wire_doc(me)
    live["id"] = live["data"]["id"] = bad
    for error in await rejected(client, db_path, [tombstone, live]):
        assert error["code"] == "VALIDATION_FAILED"
        assert error["details"]["id"] == rest["details"]["id"], (error, rest)


async def test_an_empty_or_non_string_id_is_not_a_wire_doc(client, db_path):
    for bad in ("", None, 7, ["x"]):
        doc = await wire_doc(client.account.id, id=bad, deleted=True, data=None)
        await refused(client, db_path, "POST", APPLY, code="INVALID_DOC",
                      content=json.dumps({"protocol": 1, "docs": [doc]}).encode())


UNKNOWN_KEYS = {"extra": 1, "_rev": REV, "__proto__": {}, "Title": "x", "deleted": True}


@pytest.mark.parametrize("key", list(UNKNOWN_KEYS))
async def test_unknown_keys_in_pushed_data_are_refused_as_rest_refuses_them(client, db_path, key):
    doc = await wire_doc(client.account.id)
    doc["data"][key] = UNKNOWN_KEYS[key]
    [error] = await rejected(client, db_path, [doc])
    assert error["code"] == "VALIDATION_FAILED"
    assert error["details"] == {key: ["is not a field of this model"]}, error
    if key != "_rev":  # REST reads `_rev` as the body's revision slot and ignores it (rest.py)
        rest = await refused(client, db_path, "POST", TODOS, code="VALIDATION_FAILED",
                             content=json.dumps({"title": "x", key: UNKNOWN_KEYS[key]}).encode())
        assert rest["details"] == error["details"]


async def test_a_rejected_doc_does_not_stop_the_rest_of_its_batch(client):
    me = client.account.id
    bad = await wire_doc(me, id="../../x", deleted=True, data=None)
    good = await wire_doc(me)
    response = await client.post(APPLY, json={"protocol": 1, "docs": [bad, good]})
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "applied"]
    assert (await client.get(f"{TODOS}/{good['id']}")).status_code == 200


# ---- bodies of millions of tiny items ---------------------------------------------------------

def filled(size: int, prefix: bytes, item: bytes, suffix: bytes) -> bytes:
    """`prefix item,item,... suffix` of exactly `size` bytes or just under."""
    n = (size - len(prefix) - len(suffix) + 1) // (len(item) + 1)
    return prefix + b",".join([item] * n) + suffix


MANY_ITEMS = {
    "empty-objects": (b'{"protocol":1,"docs":[', b"{}", b"]}"),
    "zeros": (b'{"protocol":1,"docs":[', b"0", b"]}"),
    "empty-arrays": (b'{"protocol":1,"docs":[', b"[]", b"]}"),
    "one-key-objects": (b'{"protocol":1,"docs":[', b'{"":0}', b"]}"),
    "short-strings": (b'{"protocol":1,"changes":[', b'"ab"', b"]}"),
    "escapes": (b'{"protocol":1,"docs":[', b'"\\n"', b"]}"),
}


@pytest.mark.parametrize("shape", list(MANY_ITEMS))
async def test_a_body_of_millions_of_tiny_items_is_refused_before_parsing(client, db_path, shape):
    content = filled(DEFAULT_MAX_SYNC_BODY_BYTES, *MANY_ITEMS[shape])
    for url in (APPLY, DIFF):
        error = await refused(client, db_path, "POST", url, content=content,
                              code="PAYLOAD_TOO_LARGE")
        assert error["details"]["max_values"] == MAX_SYNC_VALUES, error
    rest = filled(1_048_576, b'{"title":"x","order":[', b"0", b"]}")
    await refused(client, db_path, "POST", TODOS, content=rest, code="PAYLOAD_TOO_LARGE")


def traced_peak(function) -> int:
    """Peak bytes allocated while `function` runs (tracemalloc; no timing involved)."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape", list(MANY_ITEMS))
def test_refusing_a_body_of_tiny_items_builds_none_of_them(shape):
    """Without the values limit, parsing 16 MiB of `{}` allocated ~400 MiB (25 times the body);
    the refusal now costs at most the scan's working copies: two the size of the body (three
    when it holds escapes), whatever the shape."""
    raw = bytearray(filled(DEFAULT_MAX_SYNC_BODY_BYTES, *MANY_ITEMS[shape]))
    copies = 3 if b"\\" in raw else 2

    def read() -> None:
        with pytest.raises(strict_json.JSONLimitError) as refused:
            strict_json.checked_text(raw, max_depth=MAX_DEPTH, max_values=MAX_SYNC_VALUES)
        assert refused.value.kind == strict_json.TOO_MANY

    assert traced_peak(read) < copies * DEFAULT_MAX_SYNC_BODY_BYTES


def test_the_worst_body_under_the_limits_stays_bounded():
    """The costliest shape per value that passes the scan (one object of distinct keys, at
    MAX_SYNC_VALUES) and the costliest per byte (16 MiB of 4-byte characters in one string):
    reading either allocates at most ~6 times the body limit (before: ~28 times)."""
    keys = b",".join(b'"k%d":0' % i for i in range(MAX_SYNC_VALUES - 16))
    astral = "\U0001f600".encode() * ((DEFAULT_MAX_SYNC_BODY_BYTES - 64) // 4)
    for raw in (bytearray(b'{"protocol":1,"docs":[{' + keys + b"}]}"),
                bytearray(b'{"protocol":1,"docs":["' + astral + b'"]}')):
        assert len(raw) <= DEFAULT_MAX_SYNC_BODY_BYTES

        def read(raw=raw) -> None:
            text = strict_json.checked_text(raw, max_depth=MAX_DEPTH, max_values=MAX_SYNC_VALUES)
            assert isinstance(strict_json.parse(text, max_depth=MAX_DEPTH), dict)

        assert traced_peak(read) < 6 * DEFAULT_MAX_SYNC_BODY_BYTES


# ---- the browser-side model refuses the same values -------------------------------------------

async def test_the_model_refuses_what_the_server_refuses():
    """`models` (the code the browser runs) refuses these values itself, with the same rules."""
    T = Todo.using(MemoryStore()).as_user("u1")
    bad_values = [
        {"title": "a\ud800b"}, {"title": "ok", "order": 10**30},
        {"title": "ok", "order": -2**63 - 1},
        {"title": "ok", "order": float("inf")}, {"title": "ok", "order": float("nan")},
        {"title": "ok", "created_at": "9999-12-31T23:59:59-14:00"}, {"title": "ok", "id": "a\n"},
        {"title": "ok", "id": "../../x"}, {"title": "ok", "id": "\udfff"},
    ]
    for values in bad_values:
        with pytest.raises(ValidationError):
            await T.create(**values)
    assert await T.count() == 0
    for where in ({"title": "\ud800"}, {"order": 10**20}, {"order": float("inf")},
                  nested("and", MAX_WHERE_DEPTH + 1),
                  {"order": {"inq": list(range(MAX_WHERE_VALUES + 1))}}):
        with pytest.raises(FilterError):
            await T.find(where=where)
    with pytest.raises(FilterError):
        await T.find(order=["title"] * (MAX_ORDER_TERMS + 1))
    with pytest.raises(FilterError):
        await T.find(skip=2**63)
    assert await T.find(where=nested("and", MAX_WHERE_DEPTH)) == []
    assert await T.find_by_id("../../x") is None


def test_fields_refuse_values_no_store_can_hold():
    for field, value in ((String(), "\udc00"), (Number(), 2**63), (Number(), float("-inf"))):
        with pytest.raises(ValueError):
            field.clean(value)
    assert Number().clean(2**63 - 1) == 2**63 - 1 and String().clean("\U0001f600") == "\U0001f600"

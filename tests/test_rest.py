"""The REST API against a real app on a real SQLite file: CRUD, filters, every bad input, the
OpenAPI document, the models archive, and `RemoteStore` speaking to the server. Clients are
signed in (tests/auth_helpers.py); what accounts change is tested in tests/test_auth.py."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile

import httpx
import pytest
from starlette.routing import Route

import models
from models import ConflictError, NotFoundError, RemoteStore, Todo, ValidationError
from server import create_app
from server.app import parse_database_url
from server.transport import HttpxTransport
from tests.auth_helpers import assert_error, sign_up

PULL = {"version": str(Todo.version)}  # a pull names the model version it runs


async def create(client: httpx.AsyncClient, **body) -> dict:
    response = await client.post("/api/todos", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def count(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/todos/count")
    return response.json()["count"]


# ---- happy paths ------------------------------------------------------------------------------

async def test_crud_roundtrip(client):
    assert (await client.get("/api/todos")).json() == []
    made = await create(client, title="  Buy milk ")
    assert made["title"] == "Buy milk" and made["completed"] is False
    assert made["id"] and made["_rev"].startswith("1-")
    assert made["created_at"] and made["updated_at"] and made["order"] is not None

    got = await client.get(f"/api/todos/{made['id']}")
    assert got.status_code == 200 and got.json() == made
    assert got.headers["etag"] == f'"{made["_rev"]}"'

    patched = await client.patch(f"/api/todos/{made['id']}", json={"completed": True})
    assert patched.status_code == 200
    body = patched.json()
    assert body["completed"] is True and body["title"] == "Buy milk"
    assert body["created_at"] == made["created_at"] and body["_rev"].startswith("2-")

    replaced = await client.put(
        f"/api/todos/{made['id']}", json={"title": "Buy oat milk", "completed": False},
        headers={"If-Match": body["_rev"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Buy oat milk"
    assert replaced.json()["created_at"] == made["created_at"]  # read-only: the stored one stays

    deleted = await client.delete(f"/api/todos/{made['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"count": 1}
    assert_error(await client.get(f"/api/todos/{made['id']}"), 404, "NOT_FOUND")
    assert await count(client) == 0


async def test_post_keeps_client_id_and_created_at_and_stamps_updated_at(client):
    made = await create(client, id="client-made-1", title="offline", completed=True,
                        created_at="2020-01-02T03:04:05Z", updated_at="1999-01-01T00:00:00Z")
    assert made["id"] == "client-made-1"
    assert made["created_at"] == "2020-01-02T03:04:05.000Z"
    assert made["updated_at"] != "1999-01-01T00:00:00.000Z"
    response = await client.post("/api/todos", json={"id": "client-made-1", "title": "again"})
    assert_error(response, 409, "REVISION_CONFLICT")
    assert (await client.get("/api/todos/client-made-1")).json()["title"] == "offline"


async def test_put_replaces_only_and_post_creates_with_the_clients_id(client):
    response = await client.put("/api/todos/made-offline", json={"title": "from a client"})
    assert_error(response, 404, "NOT_FOUND")  # replaceById: PUT never creates (docs/AUTH.md)
    assert await count(client) == 0
    made = await client.post("/api/todos", json={"id": "made-offline", "title": "from a client"})
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "made-offline"
    replaced = await client.put("/api/todos/made-offline", json={"title": "replaced"})
    assert replaced.status_code == 200 and replaced.json()["title"] == "replaced"
    assert await count(client) == 1


async def test_filter_where_order_limit_skip(client):
    for i, title in enumerate(["c", "a", "d", "b"]):
        await create(client, title=title, completed=i % 2 == 1, order=i)

    async def titles(filter_: dict) -> list[str]:
        response = await client.get("/api/todos", params={"filter": json.dumps(filter_)})
        assert response.status_code == 200, response.text
        return [todo["title"] for todo in response.json()]

    assert await titles({"order": "title ASC"}) == ["a", "b", "c", "d"]
    assert await titles({"order": ["title DESC"], "limit": 2}) == ["d", "c"]
    assert await titles({"order": "title ASC", "skip": 1, "limit": 2}) == ["b", "c"]
    assert await titles({"where": {"completed": True}, "order": "order ASC"}) == ["a", "b"]
    assert await titles({"where": {"order": {"gte": 2}}, "order": "order DESC"}) == ["b", "d"]
    assert await titles({"where": {"title": {"like": "%c%"}}}) == ["c"]


async def test_count_with_where(client):
    for i in range(5):
        await create(client, title=f"t{i}", completed=i < 2)
    response = await client.get("/api/todos/count",
                                params={"where": json.dumps({"completed": True})})
    assert response.json() == {"count": 2}
    assert await count(client) == 5


async def test_checkpoint_counts_every_write(client):
    first = (await client.get("/api/checkpoint")).json()
    database = first["database"]  # the database's identity, the same in every answer
    assert first == {"checkpoint": 0, "database": database} and database.isdigit()
    a = await create(client, title="a")
    await create(client, title="b")
    await client.delete(f"/api/todos/{a['id']}")
    assert (await client.get("/api/checkpoint")).json() == {"checkpoint": 3,
                                                             "database": database}


async def test_the_changes_feed_is_sync_changes_only(client):
    """`/api/todos/changes` is not a route: `changes` is read as an id like any other, and the
    feed is `/sync/changes` (docs/PROTOCOL.md)."""
    await create(client, title="a")
    assert_error(await client.get("/api/todos/changes"), 404, "NOT_FOUND")
    page = (await client.get("/api/todos/sync/changes", params={**PULL, "protocol": 1})).json()
    assert [doc["data"]["title"] for doc in page["docs"]] == ["a"]


# ---- bad input: each refused, nothing written ---------------------------------------------------

async def test_malformed_json_is_400(client):
    for raw in (b'{"title": "x"', b"", b"NaN", b'{"title": "\xff"}'):
        response = await client.post("/api/todos", content=raw,
                                     headers={"content-type": "application/json"})
        assert_error(response, 400, "MALFORMED_JSON")
    assert await count(client) == 0


async def test_body_that_is_not_an_object_is_400(client):
    for body in ([{"title": "x"}], 42, "title", None):
        response = await client.post("/api/todos", content=json.dumps(body),
                                     headers={"content-type": "application/json"})
        error = assert_error(response, 400, "INVALID_BODY")
        assert "JSON object" in error["message"]
    assert await count(client) == 0


async def test_wrong_types_are_422_with_details_per_field(client):
    response = await client.post("/api/todos", json={"title": 5, "completed": "yes", "order": "1"})
    details = assert_error(response, 422, "VALIDATION_FAILED")["details"]
    assert set(details) == {"title", "completed", "order"}
    assert all(isinstance(messages, list) and messages for messages in details.values())
    assert await count(client) == 0


async def test_too_long_title_is_422(client):
    response = await client.post("/api/todos", json={"title": "x" * 501})
    assert "title" in assert_error(response, 422, "VALIDATION_FAILED")["details"]
    made = await create(client, title="x" * 500)
    response = await client.patch(f"/api/todos/{made['id']}", json={"title": "y" * 501})
    assert_error(response, 422, "VALIDATION_FAILED")
    assert (await client.get(f"/api/todos/{made['id']}")).json() == made


async def test_unknown_field_is_422_naming_it(client):
    response = await client.post("/api/todos", json={"title": "x", "colour": "red"})
    assert assert_error(response, 422, "VALIDATION_FAILED")["details"] == {
        "colour": ["is not a field of this model"]}
    made = await create(client, title="x")
    for method in ("put", "patch"):
        response = await client.request(method, f"/api/todos/{made['id']}",
                                        json={"title": "y", "colour": "red"})
        assert "colour" in assert_error(response, 422, "VALIDATION_FAILED")["details"]
    assert (await client.get(f"/api/todos/{made['id']}")).json() == made
    assert await count(client) == 1


async def test_id_in_body_must_match_url(client):
    made = await create(client, title="x")
    for method in ("put", "patch"):
        response = await client.request(method, f"/api/todos/{made['id']}",
                                        json={"id": "other", "title": "y"})
        assert "id" in assert_error(response, 422, "VALIDATION_FAILED")["details"]
    assert (await client.get(f"/api/todos/{made['id']}")).json() == made


async def test_unknown_model_is_404(client):
    for method, path in (("GET", "/api/nope"), ("POST", "/api/nope"), ("GET", "/api/nope/1"),
                         ("DELETE", "/api/nope/1"), ("GET", "/api/nope/count")):
        error = assert_error(await client.request(method, path), 404, "MODEL_NOT_FOUND")
        assert error["details"] == {"model": "nope"}


async def test_unknown_id_is_404_for_get_patch_delete(client):
    await create(client, title="x")
    assert_error(await client.get("/api/todos/missing"), 404, "NOT_FOUND")
    assert_error(await client.patch("/api/todos/missing", json={"title": "y"}), 404, "NOT_FOUND")
    assert_error(await client.delete("/api/todos/missing"), 404, "NOT_FOUND")
    assert await count(client) == 1


async def test_oversized_body_is_413_with_content_length(client):
    response = await client.post("/api/todos", json={"title": "x" * 5000})
    assert response.request.headers["content-length"]
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await count(client) == 0


async def test_oversized_body_is_413_when_streamed_without_length(client):
    async def chunks():
        yield b'{"title": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = await client.post("/api/todos", content=chunks(),
                                 headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    made = await create(client, title="x")
    response = await client.put(f"/api/todos/{made['id']}", content=chunks(),
                                headers={"content-type": "application/json"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert (await client.get(f"/api/todos/{made['id']}")).json() == made


async def test_lying_content_length_is_not_trusted(client):
    async def chunks():
        yield b'{"title": "' + b"x" * 5000 + b'"}'

    response = await client.post("/api/todos", content=chunks(),
                                 headers={"content-type": "application/json",
                                          "content-length": "10"})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await count(client) == 0


async def test_form_body_is_415(client):
    response = await client.post("/api/todos", data={"title": "x"})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert await count(client) == 0


async def test_bad_filter_is_400(client):
    await create(client, title="x")
    cases = ["{not json", "[1]", json.dumps({"where": {"colour": "red"}}),
             json.dumps({"order": "colour ASC"}), json.dumps({"limit": -1}),
             json.dumps({"where": {"title": {"regexp": "x"}}}), json.dumps({"fields": ["id"]})]
    for text in cases:
        response = await client.get("/api/todos", params={"filter": text})
        assert_error(response, 400, "INVALID_FILTER")
    for text in ("{not json", json.dumps({"colour": "red"}), "[]", "3"):
        response = await client.get("/api/todos/count", params={"where": text})
        assert_error(response, 400, "INVALID_FILTER")
    error = assert_error(await client.get("/api/todos", params={
        "filter": json.dumps({"where": {"colour": "red"}})}), 400, "INVALID_FILTER")
    assert "colour" in error["message"]


async def test_stale_if_match_is_409(client):
    made = await create(client, title="x")
    fresh = (await client.patch(f"/api/todos/{made['id']}", json={"title": "y"})).json()
    stale = {"If-Match": made["_rev"]}
    for method, body in (("put", {"title": "z"}), ("patch", {"title": "z"}), ("delete", None)):
        response = await client.request(method, f"/api/todos/{made['id']}", json=body,
                                        headers=stale)
        assert_error(response, 409, "REVISION_CONFLICT")
    assert (await client.get(f"/api/todos/{made['id']}")).json() == fresh
    # the ETag, quoted, is accepted back as If-Match
    etag = (await client.get(f"/api/todos/{made['id']}")).headers["etag"]
    ok = await client.patch(f"/api/todos/{made['id']}", json={"completed": True},
                            headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    # If-Match on a document that does not exist is not found, never a create
    response = await client.put("/api/todos/ghost", json={"title": "x"},
                                headers={"If-Match": made["_rev"]})
    assert_error(response, 404, "NOT_FOUND")
    assert await count(client) == 1


async def test_starlette_404_and_405_use_the_error_format(client):
    assert_error(await client.get("/nothing/here"), 404, "NOT_FOUND")
    response = await client.delete("/api/todos")
    error = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert "GET, HEAD, POST" in error["message"]
    assert_error(await client.post("/api/checkpoint"), 405, "METHOD_NOT_ALLOWED")
    assert_error(await client.get("/api/todos/a/b"), 404, "NOT_FOUND")


async def test_unexpected_error_is_500_without_traceback(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/t.db", web_dir=tmp_path / "web")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            account = await sign_up(client)
            db = sqlite3.connect(tmp_path / "t.db")
            db.execute(
                "INSERT INTO documents (model, id, rev, checkpoint, deleted, type, data, owner)"
                " VALUES ('todos', 'bad', '1-x', 1, 0, 'create', '{oops', ?)", (account.id,)
            )
            db.commit()
            db.close()
            response = await client.get("/api/todos/bad")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "Traceback" not in response.text and "JSONDecodeError" not in response.text
    assert error["details"] == {}


async def test_requests_before_startup_are_503(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert_error(await client.get("/api/todos"), 503, "NOT_STARTED")


def test_database_urls(tmp_path):
    assert parse_database_url("sqlite:///data/x.db") == "data/x.db"
    assert parse_database_url("sqlite:////abs/x.db") == "/abs/x.db"
    assert parse_database_url("sqlite:///:memory:") == ":memory:"
    for bad in ("mysql://localhost/db", "data.db", "sqlite://host/x.db", "sqlite:///"):
        with pytest.raises(ValueError, match="sqlite:///"):
            create_app(bad)
    with pytest.raises(ValueError, match="names no database"):
        create_app("postgresql://localhost")


async def test_memory_database(tmp_path):
    app = create_app("sqlite:///:memory:", web_dir=tmp_path)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await sign_up(client)  # users and sessions live in the same in-memory database
            await create(client, title="x")
            assert await count(client) == 1


# ---- OpenAPI and docs -------------------------------------------------------------------------

def served_api_operations(app) -> set[tuple[str, str]]:
    return {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.include_in_schema
        and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }


async def test_openapi_documents_every_api_route(client, app):
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    served = served_api_operations(app)
    assert served, "no API routes found"
    assert served <= documented, f"undocumented routes: {served - documented}"
    assert {p for p, _ in documented if p.startswith("/api/")} <= {p for p, _ in served}
    todo = spec["components"]["schemas"]["Todo"]
    assert set(todo["properties"]) == set(Todo.fields) | {"_rev"}
    assert todo["properties"]["title"]["maxLength"] == 500
    assert todo["required"] == ["_rev", "completed", "id", "title"]  # every answer has them
    # what a client sends: only the title is needed (completed has a default); PATCH any subset
    assert spec["components"]["schemas"]["TodoInput"]["required"] == ["title"]
    assert spec["components"]["schemas"]["TodoPatch"]["required"] == []
    assert "owner" in spec["components"]["schemas"]["SyncDoc"]["properties"]


async def test_docs_page_lists_routes_and_curl(client, app):
    response = await client.get("/api/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for path, method in served_api_operations(app):
        assert path in page
        assert method.upper() in page
    assert "curl -X POST" in page and "<script" not in page and "https://" not in page


# ---- the models archive -----------------------------------------------------------------------

async def test_models_archive(client):
    meta = await client.get("/pkg/models.json")
    assert meta.headers["cache-control"] == "no-cache"
    info = meta.json()
    response = await client.get(info["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    digest = hashlib.sha256(response.content).hexdigest()
    assert info["hash"] == digest and info["url"] == f"/pkg/models-{digest[:16]}.zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "models/__init__.py" in names and "models/stores/sqlite.py" in names
    assert names == sorted(names)
    assert all(name.startswith("models/") and name.endswith(".py") for name in names)
    assert not any("__pycache__" in name for name in names)
    assert_error(await client.get("/pkg/models-0123456789abcdef.zip"), 404, "NOT_FOUND")


def test_archive_is_deterministic(tmp_path):
    first = create_app("sqlite:///:memory:", web_dir=tmp_path).state.archive
    second = create_app("sqlite:///:memory:", web_dir=tmp_path).state.archive
    assert first.data == second.data and first.sha256 == second.sha256


# ---- static files -----------------------------------------------------------------------------

async def test_static_files_and_debug_page(tmp_path):
    web = tmp_path / "web"
    (web / "vendor").mkdir(parents=True)
    (web / "index.html").write_text("<h1>todos</h1>")
    (web / "vendor" / "m.mjs").write_text("export {}")
    (web / "vendor" / "x.wasm").write_bytes(b"\0asm")
    app = create_app(f"sqlite:///{tmp_path}/t.db", web_dir=web)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        index = await client.get("/")
        assert index.status_code == 200 and "todos" in index.text
        assert (await client.get("/vendor/m.mjs")).headers["content-type"].startswith(
            "text/javascript")
        assert (await client.get("/vendor/x.wasm")).headers["content-type"] == "application/wasm"
        assert_error(await client.get("/debug"), 404, "NOT_FOUND")
        (web / "debug.html").write_text("<h1>debug</h1>")
        assert "debug" in (await client.get("/debug")).text
        assert_error(await client.get("/vendor/pyodide/pyodide.mjs"), 404, "NOT_FOUND")


async def test_missing_web_dir_does_not_crash(tmp_path):
    app = create_app("sqlite:///:memory:", web_dir=tmp_path / "absent")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert_error(await client.get("/"), 404, "NOT_FOUND")


# ---- RemoteStore over the API -----------------------------------------------------------------

async def test_remote_store_against_the_server(client):
    Remote = Todo.using(RemoteStore(HttpxTransport(client)))
    assert Todo.store is None or Todo.store is not Remote.store  # the global class is untouched
    todo = await Remote.create(title="Buy milk")
    other = await Remote.create(title="Call mum", completed=True)
    assert todo._rev and todo.created_at
    assert [t.title for t in await Remote.find(order="title ASC")] == ["Buy milk", "Call mum"]
    assert [t.id for t in await Remote.find(where={"completed": True})] == [other.id]
    assert await Remote.count() == 2 and await Remote.count(where={"completed": False}) == 1
    found = await Remote.find_by_id(todo.id)
    assert found == todo and found._rev == todo._rev
    assert await Remote.find_by_id("missing") is None

    found.completed = True
    await found.save()
    assert (await Remote.find_by_id(todo.id)).completed is True

    todo.title = "stale edit"  # `todo` still holds the first revision
    with pytest.raises(ConflictError):
        await todo.save()
    with pytest.raises(ValidationError) as info:
        await Remote.create(title="")
    assert "title" in info.value.details

    await other.delete()
    assert await Remote.count() == 1
    store = Remote.store
    assert await store.checkpoint() == 4
    changes = await store.changes("todos", since=0)
    assert [c.type.value for c in changes] == ["update", "delete"]
    with pytest.raises(NotFoundError):
        await store.write("nope", "x", {"id": "x"}, base_rev="1-x")
    assert models.MODELS["todos"] is Todo

"""Signing test clients in: an in-process `httpx` client of the app (`client_of`), registered or
logged in, which then carries the session cookie and sends the session's CSRF token with every
request, as the browser pages do. The `anon`, `ada` and `bob` fixtures are in tests/conftest.py."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"


def client_of(app, address: str = "127.0.0.1", base_url: str = "http://test") -> httpx.AsyncClient:
    """A client of the app in this process, seen by the app as connecting from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    password: str
    csrf: str


def _signed_in(client: httpx.AsyncClient | httpx.Client, response: httpx.Response,
               password: str) -> Account:
    assert response.status_code in (200, 201), response.text
    body = response.json()
    client.headers["X-CSRF-Token"] = body["csrf"]
    return Account(body["user"]["id"], body["user"]["username"], password, body["csrf"])


async def sign_up(client: httpx.AsyncClient, username: str | None = None,
                  password: str = PASSWORD) -> Account:
    """Register a new user on `client` (logged in afterwards)."""
    username = username or f"user-{secrets.token_hex(4)}"
    response = await client.post("/api/auth/register",
                                 json={"username": username, "password": password})
    return _signed_in(client, response, password)


async def log_in(client: httpx.AsyncClient, account: Account) -> Account:
    response = await client.post("/api/auth/login",
                                 json={"username": account.username, "password": account.password})
    return _signed_in(client, response, account.password)


def sign_up_sync(client: httpx.Client, username: str | None = None,
                 password: str = PASSWORD) -> Account:
    """`sign_up` for a blocking client (tests against a live server process)."""
    username = username or f"user-{secrets.token_hex(4)}"
    response = client.post("/api/auth/register", json={"username": username, "password": password})
    return _signed_in(client, response, password)


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status and error["code"] == code and error["message"]
    return error


def query(app, sql: str, *params: Any) -> list[tuple]:
    """Rows read from the database file on a connection of our own."""
    with contextlib.closing(sqlite3.connect(app.state.database_path)) as db:
        return db.execute(sql, params).fetchall()


@contextlib.asynccontextmanager
async def signed_in_client(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the started `app` (in process), signed up as a new user (`client.account`)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.account = await sign_up(client)
            yield client


"""Who the benchmarks are: a fresh account when the server has accounts (`/api/auth/register`),
otherwise anonymous. The session cookies go into every browser context, and into httpx clients
with the CSRF header, exactly as the app's own fetch transport sends them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx

CSRF_COOKIE = "offsync_csrf"
SESSION_KEY = "offsync:todo:session"  # web/app/app_state.py: the last signed-in user


@dataclass
class Session:
    user_id: str | None = None
    username: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        csrf = self.cookies.get(CSRF_COOKIE)
        return {"X-CSRF-Token": csrf} if csrf else {}

    def browser_cookies(self, base_url: str) -> list[dict]:
        host = urlparse(base_url).hostname
        return [{"name": k, "value": v, "domain": host, "path": "/"}
                for k, v in self.cookies.items()]

    def http_client(self, base_url: str, **kw) -> httpx.Client:
        return httpx.Client(base_url=base_url, cookies=self.cookies, headers=self.headers, **kw)

    def async_client(self, base_url: str, **kw) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, cookies=self.cookies, headers=self.headers,
                                 **kw)


def sign_up(base_url: str) -> Session:
    """A new account on this server, or an anonymous session when it has no accounts."""
    username = f"bench-{secrets.token_hex(4)}"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.post("/api/auth/register",
                               json={"username": username, "password": "bench password 123"})
        if response.status_code in (404, 405):
            return Session()
        response.raise_for_status()
        user = response.json().get("user") or {}
        return Session(str(user.get("id")), username, dict(client.cookies))

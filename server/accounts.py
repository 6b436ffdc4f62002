"""User accounts: a `users` table beside the documents, and passwords hashed with scrypt.

The table lives in the same database as the documents (SQLite or PostgreSQL, through
`server/database.py`): one database to back up, and every server process sees every account.

Passwords are hashed with `hashlib.scrypt` and a random salt, stored as
`scrypt$n$r$p$salt_b64$hash_b64` so the cost can be raised later without breaking old hashes.
Hashing is slow on purpose (tens of milliseconds), so callers run it in a worker thread. A
password is never logged, never put in an error, and never stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from models.errors import ValidationError
from models.limits import text_problem

from .database import Database, DuplicateError

SCHEMA = {
    # usernames are unique in any case (they are ASCII: `USERNAME`)
    "sqlite": """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
)""",
    "postgresql": """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_name ON users (lower(username))""",
}
BY_NAME = {"sqlite": "username = ?", "postgresql": "lower(username) = lower(?)"}

USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,40}$")  # fullmatch: "$" alone lets a final "\n" in
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # scrypt reads all of it: refuse megabytes of "password"

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True)
class User:
    id: str
    username: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "username": self.username}


# ---- passwords --------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                         maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=256 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash of nothing anyone knows: checking an unknown username against it costs the same time
# as checking a real one, so response times do not tell which usernames exist.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# ---- validation -------------------------------------------------------------------------------

def check_credentials(username: object, password: object, *, new: bool) -> tuple[str, str]:
    """The username and password as strings, or a ValidationError naming each bad field (422).

    For a log-in (`new=False`) only the types are checked: rules may change, old accounts stay.
    """
    problems: dict[str, list[str]] = {}
    if not isinstance(username, str) or not username.strip():
        problems["username"] = ["is required"]
    elif text_problem(username):  # a lone surrogate cannot be looked up, stored or hashed
        problems["username"] = ["must be valid Unicode text"]
    elif new and not USERNAME.fullmatch(username.strip()):
        problems["username"] = ["must be 3-40 letters, digits, '.', '_' or '-'"]
    if not isinstance(password, str) or not password:
        problems["password"] = ["is required"]
    elif text_problem(password):
        problems["password"] = ["must be valid Unicode text"]
    elif len(password) > MAX_PASSWORD:
        problems["password"] = [f"must be at most {MAX_PASSWORD} characters"]
    elif new and len(password) < MIN_PASSWORD:
        problems["password"] = [f"must be at least {MIN_PASSWORD} characters"]
    if problems:
        raise ValidationError("User", problems)
    assert isinstance(username, str) and isinstance(password, str)
    return username.strip(), password


# ---- the table --------------------------------------------------------------------------------

class Accounts:
    """The users table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_schema(self) -> None:
        await self.db.script(SCHEMA[self.db.dialect])

    async def _row(self, where: str, value: str) -> tuple | None:
        return await self.db.fetchone(
            f"SELECT id, username, password_hash, created_at FROM users WHERE {where}", (value,))

    async def get(self, user_id: str) -> User | None:
        row = await self._row("id = ?", user_id)
        return None if row is None else User(row[0], row[1])

    async def password_hash(self, username: str) -> tuple[User, str] | None:
        """The user named `username` (any case) and their stored hash."""
        row = await self._row(BY_NAME[self.db.dialect], username)
        return None if row is None else (User(row[0], row[1]), row[2])

    async def exists(self, username: str) -> bool:
        return await self._row(BY_NAME[self.db.dialect], username) is not None

    async def create(self, username: str, password_hash: str, *, id: str | None = None,
                     created_at: float | None = None) -> User:
        """A new user; a taken username (any case) is a 422 on `username`. `id` and
        `created_at` are given when an account moves from another database."""
        user = User(id or secrets.token_hex(16), username)
        try:
            await self.db.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (user.id, username, password_hash, time.time() if created_at is None
                 else created_at),
            )
        except DuplicateError:
            raise ValidationError("User", {"username": ["is already taken"]}) from None
        return user

    async def everyone(self) -> list[tuple[User, str, float]]:
        """Every account with its hash and creation time, oldest first (to move them)."""
        rows = await self.db.fetchall(
            "SELECT id, username, password_hash, created_at FROM users ORDER BY created_at, id")
        return [(User(row[0], row[1]), row[2], row[3]) for row in rows]

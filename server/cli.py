"""`offsync`: the command line, mirroring the Python API.

    offsync serve [--db URL] [--port N] [--forwarded-allow-ips IPS] [--register-attempts N]
                                                     the server
    offsync replicate SOURCE TARGET [--since N] [--user NAME]
                                                     `replicate(source, target, saved=...)`
    offsync purge-tombstones [--db URL] --keep N     `store.purge_tombstones(model, through)`

Exit codes: 0 success; 1 an error (unreachable server, expired checkpoint...; the message says
what to do); 2 a usage error, or `replicate` finished but left conflicts or rejected documents.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import ipaddress
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence

import uvicorn

import models
from models.errors import AuthenticationError, OffsyncError
from models.replication import DEFAULT_BATCH_SIZE, SavedCheckpoints, replicate
from models.stores import Store

from .app import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REGISTER_ATTEMPTS,
    DEFAULT_REGISTER_WINDOW_SECONDS,
    create_app,
    parse_database_url,
)


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the real URL once it listens (the OS picks the port for 0)."""

    def __init__(self, config: uvicorn.Config, database_url: str) -> None:
        super().__init__(config)
        self.database_url = database_url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"offsync serving http://{shown}:{port} (database: {self.database_url})",
              flush=True)


def uvicorn_config(app, *, host: str, port: int, log_level: str = "info",
                   forwarded_allow_ips: str | None = None) -> uvicorn.Config:
    """How offsync runs under uvicorn. Proxy headers (`X-Forwarded-For`, `X-Forwarded-Proto`)
    are trusted only from the addresses in `forwarded_allow_ips`, and only when it is given:
    uvicorn's own default trusts them from loopback, which would let any local client pick
    the address the rate limits count (docs/AUTH.md)."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          proxy_headers=forwarded_allow_ips is not None,
                          forwarded_allow_ips=forwarded_allow_ips)


def serve(args: argparse.Namespace) -> int:
    app = create_app(args.db, register_attempts=args.register_attempts,
                     register_window_seconds=args.register_window)
    config = uvicorn_config(app, host=args.host, port=args.port, log_level=args.log_level,
                            forwarded_allow_ips=args.forwarded_allow_ips)
    AnnouncingServer(config, args.db).run()
    return 0


# ---- replicate --------------------------------------------------------------------------------

def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


PASSWORD_ENV = "OFFSYNC_PASSWORD"


def read_password(user: str) -> str:
    """The password for `user`: $OFFSYNC_PASSWORD (scripts), else asked on the terminal."""
    return os.environ.get(PASSWORD_ENV) or getpass.getpass(f"password for {user}: ")


async def log_in(client, url: str, user: str | None) -> dict[str, str]:
    """Log `client` in as `user`; the headers every later request needs (the CSRF token)."""
    if user is None:
        raise AuthenticationError(f"{url} needs an account: pass --user NAME (the password is "
                                  f"read from ${PASSWORD_ENV} or asked for)")
    response = await client.post("/api/auth/login",
                                 json={"username": user, "password": read_password(user)})
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}"
        raise AuthenticationError(f"logging in to {url} as {user} failed: {message}")
    return {"X-CSRF-Token": response.json()["csrf"]}


@contextlib.asynccontextmanager
async def open_store(url: str, *, must_exist: bool,
                     user: str | None = None) -> AsyncIterator[Store]:
    """A store for a database URL (`sqlite:///a.db`) or an offsync server (`http(s)://...`,
    signed in as `user`: a server replicates only that user's documents)."""
    if _is_http(url):
        import httpx

        from models.stores.remote import RemoteStore

        from .transport import HttpxTransport

        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60.0) as client:
            try:
                headers = await log_in(client, url, user)
            except httpx.HTTPError as exc:
                raise OSError(f"cannot reach {url}: {exc}") from None
            yield RemoteStore(HttpxTransport(client, headers))
        return
    from models.stores.sqlite import SQLiteStore

    path = parse_database_url(url)
    if must_exist and path != ":memory:" and not os.path.isfile(path):
        raise FileNotFoundError(f"{url}: there is no database file {path!r}")
    store = SQLiteStore(path)
    try:
        yield store
    finally:
        store.close()


def progress_record(args: argparse.Namespace, source: Store, target: Store
                    ) -> SavedCheckpoints | None:
    """Where `replicate` keeps its progress: in the target when it is a database file (named by
    the source), else in the source (named by the target); nowhere between two servers."""
    who = f" as {args.user}" if args.user else ""
    if not _is_http(args.target):
        return SavedCheckpoints(target, f"replicate:{args.source}{who}")
    if not _is_http(args.source):
        return SavedCheckpoints(source, f"replicate:{args.target}{who}")
    return None


async def run_replicate(args: argparse.Namespace) -> int:
    statuses = ("applied", "unchanged", "merged", "conflict", "rejected")
    async with open_store(args.source, must_exist=True, user=args.user) as source, \
            open_store(args.target, must_exist=False, user=args.user) as target:
        start = await source.checkpoint()
        saved = progress_record(args, source, target)
        reached, conflicts, rejected, resynced = [], 0, 0, []
        totals = dict.fromkeys(statuses, 0)
        for model in models.MODELS.values():
            name = model.collection
            if saved is not None and args.since is not None:
                await saved.save(name, args.since)  # --since overrides where the last run reached

            def progress(done: int, total: int, name: str = name) -> None:
                print(f"{name}: {done}/{total}", flush=True)

            result = await replicate(source, target, args.since, models=[model],
                                     batch_size=args.batch_size, on_progress=progress,
                                     saved=saved)
            counts = ", ".join(f"{status} {result.count(status)}" for status in statuses)
            extra = f", purged {result.count('purged')}" if result.count("purged") else ""
            print(f"{name}: {counts}{extra}", flush=True)
            for status in statuses:
                totals[status] += result.count(status)
            conflicts += len(result.conflicts)
            rejected += len(result.rejected)
            for problem in result.rejected:
                print(f"  rejected {problem['id']} {problem['rev']}: "
                      f"{(problem['error'] or {}).get('message', '')}")
            for conflict in result.conflicts:
                print(f"  conflict {conflict.id} ({conflict.type()})")
            if result.resynced:
                resynced.append(name)
            reached.append(result.checkpoint)
    # Every model was read past `start`, and each up to its own checkpoint: nothing at or below
    # this one is left unread, whatever was written meanwhile.
    checkpoint = max([start, min(reached)]) if reached else start
    total = sum(totals.values())
    print(f"done: {total} changes ({', '.join(f'{s} {n}' for s, n in totals.items())}); "
          f"{conflicts} conflicts")
    if resynced:
        print(f"full resync of {', '.join(resynced)}: --since was older than the source's "
              "tombstone purge horizon")
    print(f"checkpoint: {checkpoint} (next time: --since {checkpoint})")
    return 2 if conflicts or rejected else 0


def replicate_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_replicate(args))
    except (OffsyncError, OSError, ValueError) as exc:
        print(f"offsync replicate: error: {exc}", file=sys.stderr)
        return 1


# ---- purge-tombstones -------------------------------------------------------------------------

async def run_purge(args: argparse.Namespace) -> int:
    async with open_store(args.db, must_exist=True) as store:
        last = await store.checkpoint()
        through = last - args.keep
        if through <= 0:
            print(f"nothing to purge: the database is at checkpoint {last}, "
                  f"and the last {args.keep} checkpoints are kept")
            return 0
        for model in models.MODELS.values():
            gone = await store.purge_tombstones(model.collection, through)
            print(f"{model.collection}: purged {gone} tombstones written at or before "
                  f"checkpoint {through}")
    print(f"purge horizon: {through}. A replica that last synced before checkpoint {through} "
          "gets CHECKPOINT_EXPIRED and resyncs fully.")
    return 0


def purge_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_purge(args))
    except (OffsyncError, OSError, ValueError) as exc:
        print(f"offsync purge-tombstones: error: {exc}", file=sys.stderr)
        return 1


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _allow_ips(text: str) -> str:
    """A comma-separated list of addresses or networks (`127.0.0.1`, `10.0.0.0/8`), or `*`."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"an empty address in {text!r}")
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not an IP address or network (nor *)") from None
    return ",".join(items)


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offsync", description="Offline-first web apps in Python."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("serve", help="serve the API, the pages and the models package")
    run.add_argument("--db", default=DEFAULT_DATABASE_URL,
                     help=f"database URL (default {DEFAULT_DATABASE_URL})")
    run.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    run.add_argument("--port", type=int, default=8000, help="port; 0 lets the OS pick a free one")
    run.add_argument("--log-level", default="info",
                     choices=["critical", "error", "warning", "info", "debug"])
    run.add_argument("--forwarded-allow-ips", type=_allow_ips, default=None, metavar="IPS",
                     help="trust X-Forwarded-For/-Proto from these proxy addresses (comma-"
                          "separated IPs or networks, or *); by default proxy headers are "
                          "ignored, so the client address is the TCP peer")
    run.add_argument("--register-attempts", type=_positive, default=DEFAULT_REGISTER_ATTEMPTS,
                     metavar="N",
                     help="registrations one client address may attempt per window (default "
                          f"{DEFAULT_REGISTER_ATTEMPTS})")
    run.add_argument("--register-window", type=_positive_seconds,
                     default=DEFAULT_REGISTER_WINDOW_SECONDS, metavar="SECONDS",
                     help="the registration limit's window (default "
                          f"{DEFAULT_REGISTER_WINDOW_SECONDS} s)")
    run.set_defaults(handler=serve)

    rep = commands.add_parser(
        "replicate", help="copy every change from SOURCE to TARGET",
        description="Copy every change of every model from SOURCE to TARGET, in batches (one "
                    "transaction per batch on the target). SOURCE and TARGET are database URLs "
                    "(sqlite:///a.db) or offsync server URLs (http://host:port). Exit code 0, "
                    "or 2 when documents conflicted or were rejected (they are listed).")
    rep.add_argument("source", metavar="SOURCE", help="sqlite:///path.db or http(s)://server")
    rep.add_argument("target", metavar="TARGET", help="sqlite:///path.db or http(s)://server")
    rep.add_argument("--since", type=_not_negative, default=None,
                     help="source checkpoint to start after (default: where the last run "
                          "between SOURCE and TARGET reached, kept page by page in the target "
                          "database, or in the source when the target is a server)")
    rep.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                     help=f"documents per batch (default {DEFAULT_BATCH_SIZE}; a server takes "
                          "at most 5000)")
    rep.add_argument("--user", metavar="NAME",
                     help="the account to log in to a server with (password from "
                          f"${PASSWORD_ENV}, or asked for); only its documents replicate")
    rep.set_defaults(handler=replicate_command)

    purge = commands.add_parser(
        "purge-tombstones", help="forget old deletes (see docs/PROTOCOL.md)",
        description="Drop the tombstones of deleted documents, except those written within the "
                    "last N checkpoints. A replica that last synced before that gets "
                    "CHECKPOINT_EXPIRED and resyncs fully (docs/PROTOCOL.md).")
    purge.add_argument("--db", default=DEFAULT_DATABASE_URL,
                       help=f"database URL (default {DEFAULT_DATABASE_URL})")
    purge.add_argument("--keep", type=_not_negative, required=True,
                       help="keep the tombstones written within the last N checkpoints")
    purge.set_defaults(handler=purge_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "replicate":
        urls = [url for url in (args.source, args.target) if not _is_http(url)]
    else:
        urls = [args.db]  # serve, purge-tombstones: a database, never a server
    for url in urls:
        try:
            parse_database_url(url)  # refuse a bad URL before doing anything
        except ValueError as exc:
            parser.error(str(exc))
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

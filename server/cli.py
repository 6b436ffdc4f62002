"""`offsync`: the command line. Each command is one call of the Python API, and its arguments are
that call's (URLs are opened with `server.stores.open_store`):

    offsync serve [--db URL] [--host H] [--port N] [--workers N] [--log-level L]
                  [--forwarded-allow-ips IPS] [--register-attempts N] [--register-window SECONDS]
        create_app(database_url, register_attempts=N, register_window_seconds=SECONDS), run by
        uvicorn_config(app, host=H, port=N, log_level=L, forwarded_allow_ips=IPS); the other
        arguments of create_app keep their defaults. --workers N runs N such processes on one
        listening socket (uvicorn's supervisor; each builds its app with
        `server.app.app_from_environment`), for a database several processes share
    offsync replicate SOURCE TARGET [--since N] [--batch-size N] [--model M ...] [--user NAME]
        replicate(open_store(SOURCE), open_store(TARGET), since=N, batch_size=N, models=[M],
                  checkpoints=Checkpoints(...)): one call per model; the progress is kept by
        the target when it is a database (its peer: SOURCE), else by the source (its peer:
        TARGET); --user NAME (and $OFFSYNC_PASSWORD) sign in to a server. Between two
        databases it moves the whole deployment: then also
        server.moving.plan_accounts / copy_accounts / copy_conflicts(source, target)
    offsync purge-tombstones MODEL [--db URL] (--through CHECKPOINT | --keep N)
        open_store(URL).purge_tombstones(MODEL, through=CHECKPOINT); --keep N is derived:
        through = the database's checkpoint - N

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
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Sequence

import uvicorn
from uvicorn.supervisors import Multiprocess

import models
from models.checkpoints import Checkpoints
from models.errors import AuthenticationError, OffsyncError
from models.replication import DEFAULT_BATCH_SIZE, ReplicationResult, replicate
from models.stores import Store
from models.stores.local import LocalStore
from models.stores.migrate import migrate_store

from .app import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REGISTER_ATTEMPTS,
    DEFAULT_REGISTER_WINDOW_SECONDS,
    app_environment,
    create_app,
)
from .moving import copy_accounts, copy_conflicts, plan_accounts
from .stores import open_store, scheme_of


def serving_url(sock: socket.socket) -> str:
    """The URL a listening socket serves (the OS picks the port for 0)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serving_line(url: str, what: str) -> str:
    """The line `offsync serve` prints once it serves; tests and scripts wait for it."""
    return f"offsync serving {url} {what}"


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the real URL once it listens (the OS picks the port for 0)."""

    def __init__(self, config: uvicorn.Config, database_url: str) -> None:
        super().__init__(config)
        self.database_url = database_url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        url = serving_url(self.servers[0].sockets[0])
        print(serving_line(url, f"(database: {self.database_url})"), flush=True)


def uvicorn_config(app, *, host: str, port: int, log_level: str = "info",
                   forwarded_allow_ips: str | None = None, **more: object) -> uvicorn.Config:
    """How offsync runs under uvicorn. Proxy headers (`X-Forwarded-For`, `X-Forwarded-Proto`)
    are trusted only from the addresses in `forwarded_allow_ips`, and only when it is given:
    uvicorn's own default trusts them from loopback, which would let any local client pick
    the address the rate limits count (docs/AUTH.md)."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          proxy_headers=forwarded_allow_ips is not None,
                          forwarded_allow_ips=forwarded_allow_ips, **more)


def serve(args: argparse.Namespace) -> int:
    if args.workers > 1:
        return serve_workers(args)
    app = create_app(args.db, register_attempts=args.register_attempts,
                     register_window_seconds=args.register_window)
    config = uvicorn_config(app, host=args.host, port=args.port, log_level=args.log_level,
                            forwarded_allow_ips=args.forwarded_allow_ips)
    AnnouncingServer(config, args.db).run()
    return 0


def announce_when_ready(url: str, line: str, timeout: float = 120.0) -> None:
    """Print the serving line once a worker answers at `url` (as the one-process server prints
    it once it listens), so whoever waits for it can send requests at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/checkpoint", timeout=2):
                break
        except urllib.error.HTTPError:  # an answer (401: no session) is a server that serves
            break
        except OSError:
            time.sleep(0.1)
    print(line, flush=True)


def serve_workers(args: argparse.Namespace) -> int:
    """`--workers N`: one socket, N processes. Every piece of server state lives in the
    database, so any process can answer any request; SQLite is refused, since it is one file on
    one machine and the server's live notices (and its design) assume one process on it."""
    if not scheme_of(args.db, database=True).shared:
        print(f"offsync serve: --workers {args.workers} needs a database several processes "
              f"share (postgresql://...); {args.db} serves one process", file=sys.stderr)
        return 2
    os.environ.update(app_environment(args.db, args.register_attempts, args.register_window))
    config = uvicorn_config("server.app:app_from_environment", host=args.host, port=args.port,
                            log_level=args.log_level, forwarded_allow_ips=args.forwarded_allow_ips,
                            factory=True, workers=args.workers)
    sock = config.bind_socket()
    url = serving_url(sock)
    line = serving_line(url, f"(database: {args.db}, {args.workers} processes)")
    threading.Thread(target=announce_when_ready, daemon=True, args=(url, line)).start()
    Multiprocess(config, sockets=[sock]).run()
    return 0


# ---- replicate --------------------------------------------------------------------------------

PASSWORD_ENV = "OFFSYNC_PASSWORD"


def read_password(user: str) -> str:
    """The password for `user`: $OFFSYNC_PASSWORD (scripts), else asked on the terminal."""
    return os.environ.get(PASSWORD_ENV) or getpass.getpass(f"password for {user}: ")


def _is_server(url: str) -> bool:
    return not scheme_of(url).database


def progress_record(args: argparse.Namespace, source: Store, target: Store
                    ) -> Checkpoints | None:
    """Which store keeps the progress of `replicate`: the target when it is a database (its
    peer is the source, named by its URL), else the source (its peer the target); neither
    between two servers."""
    who = f" as {args.user}" if args.user else ""
    if not _is_server(args.target):
        return Checkpoints(target, f"{args.source}{who}")
    if not _is_server(args.source):
        return Checkpoints(source, f"{args.target}{who}")
    return None


def chosen_models(names: Sequence[str] | None) -> list[type]:
    return [models.MODELS[name] for name in names] if names else list(models.MODELS.values())


@contextlib.asynccontextmanager
async def opened(url: str, args: argparse.Namespace, *, must_exist: bool
                 ) -> AsyncIterator[Store]:
    """`open_store(url)` with the command's account: the password is asked for only when a
    server wants it."""
    if _is_server(url) and args.user is None:
        raise AuthenticationError(f"{url} needs an account: pass --user NAME (the password is "
                                  f"read from ${PASSWORD_ENV} or asked for)")
    async with open_store(url, must_exist=must_exist, user=args.user,
                          password=lambda: read_password(args.user)) as store:
        if isinstance(store, LocalStore):  # a database older code wrote: migrated first, as
            await migrate_store(store, models.MODELS.values())  # the server does at start-up
        yield store


async def run_replicate(args: argparse.Namespace) -> int:
    """One `replicate()` per model, so that progress and counts are told per model; together
    they are one replication (`ReplicationResult.combined`)."""
    statuses = ("applied", "unchanged", "merged", "conflict", "rejected")
    results = []
    moving = not _is_server(args.source) and not _is_server(args.target)
    async with opened(args.source, args, must_exist=True) as source, \
            opened(args.target, args, must_exist=False) as target:
        if moving:  # a whole deployment: its accounts too, refused before anything is copied
            accounts = await plan_accounts(source, target)
            await copy_accounts(target, accounts)
        progress = progress_record(args, source, target)
        for model in chosen_models(args.model):
            name = model.collection
            if progress is not None and args.since is not None:
                # --since overrides where the last run reached
                await progress.save(progress.direction(source, target), name, args.since)

            def report(done: int, total: int, name: str = name) -> None:
                print(f"{name}: {done}/{total}", flush=True)

            result = await replicate(source, target, args.since, models=[model],
                                     batch_size=args.batch_size, on_progress=report,
                                     checkpoints=progress)
            counts = ", ".join(f"{status} {result.count(status)}" for status in statuses)
            extra = f", purged {result.count('purged')}" if result.count("purged") else ""
            print(f"{name}: {counts}{extra}", flush=True)
            for problem in result.rejected:
                print(f"  rejected {problem['id']} {problem['rev']}: "
                      f"{(problem['error'] or {}).get('message', '')}")
            for conflict in result.conflicts:
                print(f"  conflict {conflict.id} ({conflict.type()})")
            results.append((name, result))
        if moving:
            copied = await copy_conflicts(source, target, chosen_models(args.model))
            for name, count in copied.items():
                print(f"{name}: {count} recorded conflicts copied", flush=True)
            print(f"accounts: copied {len(accounts.new)}, already there {len(accounts.there)}",
                  flush=True)
    total = ReplicationResult.combined(result for _, result in results)
    changes = sum(total.count(status) for status in statuses)
    print(f"done: {changes} changes "
          f"({', '.join(f'{s} {total.count(s)}' for s in statuses)}); "
          f"{len(total.conflicts)} conflicts")
    resynced = [name for name, result in results if result.resynced]
    if resynced:
        print(f"full resync of {', '.join(resynced)}: --since was older than the source's "
              "tombstone purge horizon")
    print(f"checkpoint: {total.checkpoint} (next time: --since {total.checkpoint})")
    return 2 if total.conflicts or total.rejected else 0


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
        through = args.through if args.keep is None else last - args.keep
        if through > last:
            raise ValueError(f"--through {through} is past the database's last checkpoint "
                             f"{last}: a replica that is up to date would have to resync")
        if through <= 0:
            kept = "" if args.keep is None else f", and the last {args.keep} checkpoints are kept"
            print(f"nothing to purge: the database is at checkpoint {last}{kept}")
            return 0
        gone = await store.purge_tombstones(args.model, through)
    print(f"{args.model}: purged {gone} tombstones written at or before checkpoint {through}")
    print(f"purge horizon of {args.model}: {through}. A replica that last synced before "
          f"checkpoint {through} gets CHECKPOINT_EXPIRED and resyncs fully.")
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
    run.add_argument("--workers", type=_positive, default=1, metavar="N",
                     help="server processes on one socket (default 1; more need PostgreSQL)")
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
                    "(sqlite:///a.db) or offsync server URLs (http://host:port). Between two "
                    "databases it moves the whole deployment: every user's documents, the "
                    "recorded conflicts and the accounts (ids, password hashes). Exit code 0, "
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
    rep.add_argument("--model", action="append", choices=sorted(models.MODELS), metavar="MODEL",
                     help="replicate only this model (repeat for more; default every model: "
                          f"{', '.join(sorted(models.MODELS))})")
    rep.add_argument("--user", metavar="NAME",
                     help="the account to log in to a server with (password from "
                          f"${PASSWORD_ENV}, or asked for); only its documents replicate")
    rep.set_defaults(handler=replicate_command)

    purge = commands.add_parser(
        "purge-tombstones", help="forget old deletes of one model (see docs/PROTOCOL.md)",
        description="store.purge_tombstones(MODEL, through): drop the tombstones of MODEL's "
                    "deleted documents written at or before checkpoint --through. --keep N is "
                    "a shorthand for --through (the database's checkpoint - N). A replica that "
                    "last synced before that gets CHECKPOINT_EXPIRED and resyncs fully "
                    "(docs/PROTOCOL.md).")
    purge.add_argument("model", metavar="MODEL", choices=sorted(models.MODELS),
                       help=f"the model ({', '.join(sorted(models.MODELS))})")
    purge.add_argument("--db", default=DEFAULT_DATABASE_URL,
                       help=f"database URL (default {DEFAULT_DATABASE_URL})")
    horizon = purge.add_mutually_exclusive_group(required=True)
    horizon.add_argument("--through", type=_not_negative, metavar="CHECKPOINT",
                         help="drop the tombstones written at or before this checkpoint")
    horizon.add_argument("--keep", type=_not_negative, metavar="N",
                         help="derived: --through (the database's checkpoint - N), keeping the "
                              "tombstones written within the last N checkpoints")
    purge.set_defaults(handler=purge_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # refuse a bad URL before doing anything
    if args.command == "replicate":
        checks = [(args.source, False), (args.target, False)]
    else:
        checks = [(args.db, True)]  # serve, purge-tombstones: a database, never a server
    for url, database in checks:
        try:
            scheme_of(url, database=database)
        except ValueError as exc:
            parser.error(str(exc))
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

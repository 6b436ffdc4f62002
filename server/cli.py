"""`offsync`: the command line, mirroring the Python API (`serve` now; `replicate`, `bench` next)."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

import uvicorn

from .app import DEFAULT_DATABASE_URL, create_app, parse_database_url


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


def serve(args: argparse.Namespace) -> int:
    app = create_app(args.db)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)
    AnnouncingServer(config, args.db).run()
    return 0


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
    run.set_defaults(handler=serve)
    # `replicate SRC DST` and `bench` will be added here as further subparsers.
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "serve":
        try:
            parse_database_url(args.db)  # refuse a bad --db before uvicorn starts
        except ValueError as exc:
            parser.error(str(exc))
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

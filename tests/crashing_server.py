"""The real server process, `kill -9`ed on demand and started again on the same database file.

`kill()` is what a crash does: the process dies wherever it is (inside a transaction, between its
commit and its reply), and a new `offsync serve` starts on the same SQLite file at once, in a
thread, on a new port. Until it answers, `port()` is None, so a proxy in front knows nothing
listens.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.live_server import LiveServer


class CrashingServer:
    def __init__(self, db_path: Path) -> None:
        self.server = LiveServer(db_path)
        self.kills = 0
        self.starts = 0
        self._up = False
        self._restart: asyncio.Future | None = None
        self.earlier_output: list[str] = []  # what the killed processes printed last

    def start(self) -> CrashingServer:
        self.earlier_output += self.server.output
        self.server.port = 0
        self.server.start()
        self.starts += 1
        self._up = True
        return self

    def port(self) -> int | None:
        return self.server.port if self._up else None

    async def kill(self) -> None:
        """SIGKILL now; the restart runs in the background (await `wait_up()` to join it)."""
        await self.wait_up()
        self._up = False
        self.server.kill()
        self.kills += 1
        self._restart = asyncio.ensure_future(asyncio.to_thread(self.start))

    async def wait_up(self) -> None:
        if self._restart is not None:
            restart, self._restart = self._restart, None
            await restart

    @property
    def output(self) -> str:
        return "".join(self.earlier_output + self.server.output)

    def stop(self) -> None:
        self.server.stop()
        self._up = False

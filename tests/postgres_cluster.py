"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary directory,
a free port on 127.0.0.1, trust authentication, no fsync (nothing here must survive a crash).

PostgreSQL refuses to run as root, so under root the server runs as the unprivileged `postgres`
user that Debian's package creates (`runuser -u postgres --`); otherwise as whoever runs the
tests. If it cannot start, `PostgresCluster.start` raises with the server's log: the tests that
need it fail, they never skip. `make test` installs the package when it is missing.

Each database is created with an ICU English collation (`en-US`), where "apple" sorts before
"Banana", so a query that forgets to compare strings by code point shows up in the shared cases.

    cluster = PostgresCluster().start()
    url = cluster.create_database()   # a fresh, empty database
    cluster.stop()
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
}


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (OFFSYNC_POSTGRES_BIN overrides)."""
    chosen = os.environ.get("OFFSYNC_POSTGRES_BIN")
    if chosen:
        return Path(chosen)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(Path(path).parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make postgres` installs Debian's "
                           "postgresql package (apt-get install postgresql)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresCluster:
    """One `initdb` + `pg_ctl start` in a temporary directory, stopped and removed by `stop`."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.root = Path(tempfile.mkdtemp(prefix="offsync-postgres-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=self.root)

    def start(self) -> PostgresCluster:
        if self._as_root:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _attempt in range(5):  # another process may take the free port before the server
            self.port = free_port()
            options = " ".join(f"-c {key}={value}" for key, value in {
                **SETTINGS, "port": self.port, "unix_socket_directories": self.root}.items())
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                             "-t", "60", "-o", options, "start")
            if done.returncode == 0:
                return self
        log = self.log.read_text() if self.log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Run statements outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (string order by the ICU English collation); its URL."""
        name = name or f"offsync_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                     "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        return self.url(name)

    def empty_tables(self, url: str) -> None:
        """Empty every table of the database at `url`: far faster than a new database, and for
        the few rows a test leaves DELETE is faster than TRUNCATE (which replaces files)."""
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")]
            with conn.transaction():
                for table in tables:
                    conn.execute(f"DELETE FROM {table}")

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

"""schemathesis (property-based API testing from the OpenAPI document) against the real server.

`offsync serve` on a SQLite file, and schemathesis's own command line (`st run`) generating
requests from `/openapi.json`: the examples in the document, boundary values, random valid and
invalid inputs, and stateful sequences following the links it infers (create, then read, change,
delete what was created). It checks that no answer is a 5xx and that every answer conforms to
the document: a documented status code, content type, headers and a body matching the schema.
So the document must say what the server really accepts and returns.

Two runs, because logging in or registering replaces the session the requests carry: the model
and sync routes with a signed-in user's cookie and `X-CSRF-Token`, and the `auth` routes without
a session. The change stream (tag `live`) is left out: an endless stream has no answer to check.
Deterministic (`--generation-deterministic`: the same requests every run) and bounded
by `--max-examples` (`OFFSYNC_SCHEMATHESIS_EXAMPLES`, default 200 per operation and phase). The
requests go through the loopback proxy of the fault suite, passing everything, which counts them
and keeps every 5xx.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.auth_helpers import sign_up
from tests.fault_proxy import FaultProxy
from tests.live_server import LiveServer

ST = Path(sys.executable).with_name("st")
EXAMPLES = int(os.environ.get("OFFSYNC_SCHEMATHESIS_EXAMPLES") or 200)
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")


@pytest.fixture
async def proxied(tmp_path):
    server = LiveServer(tmp_path / "offsync.db").start()
    proxy = await FaultProxy(lambda: server.port).start()
    try:
        yield server, proxy
    finally:
        await proxy.close()
        server.stop()


async def schemathesis(url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{url}/openapi.json", "--checks", CHECKS,
        "--max-examples", str(EXAMPLES), "--generation-deterministic", "--workers", "1",
        "--no-color", "--request-timeout", "30", "--suppress-health-check", "all", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )
    out, _ = await process.communicate()
    return process.returncode, out.decode("utf-8", "replace")


def generated(output: str) -> int:
    found = re.search(r"(\d+) generated", output)
    return int(found.group(1)) if found else 0


async def test_the_openapi_document_describes_the_server(proxied):
    server, proxy = proxied
    async with httpx.AsyncClient(base_url=server.url) as client:
        account = await sign_up(client)
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    signed_in = await schemathesis(
        proxy.url, "--exclude-tag", "auth", "--exclude-tag", "live",  # a stream never ends
        "--header", f"Cookie: {cookie}", "--header", f"X-CSRF-Token: {account.csrf}")
    anonymous = await schemathesis(proxy.url, "--include-tag", "auth")
    cases = generated(signed_in[1]) + generated(anonymous[1])
    errors = [f"{method} {target} -> {status}: {body[:400]!r}"
              for method, target, status, body in proxy.server_errors]
    print(f"schemathesis: {cases} cases, {sum(proxy.stats.requests.values())} requests, "
          f"{len(errors)} 5xx, statuses {dict(sorted(proxy.stats.statuses.items()))}")
    assert not errors, ("5xx answers:\n" + "\n".join(errors[:30]) + "\n--- server log ---\n"
                        + "".join(server.output[-150:]))
    for (code, output), what in ((signed_in, "signed in"), (anonymous, "auth routes")):
        assert generated(output) >= 100, f"{what}: schemathesis hardly ran:\n{output[-3000:]}"
        assert code == 0, f"{what}: the server does not do what /openapi.json says:\n{output}"

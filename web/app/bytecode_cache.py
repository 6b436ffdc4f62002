"""Compiled Python for the next start: the page's modules (`models` and `web/app/`) compiled once
in the browser and kept beside the build they were compiled from.

Compiling the sources is about half of the import time at start-up (about 150 ms of 300 on a
2-core machine). Pyodide's Python differs from the server's, so the server cannot compile them;
the page does, after it is ready, into `/bytecode.zip` in the service worker's cache of the build
it runs (web/sw.js). PyScript unpacks that archive next to the sources on the next start
(`/pyscript.json`); without one the server answers an empty archive. The `.pyc` files are
"unchecked hash" ones (PEP 552): Python uses them without looking at the sources' times, which
is safe here because one build's cache only ever holds that build's sources. A `.pyc` Python
cannot read (another Pyodide) is ignored and the source compiled, as without a cache.
"""

from __future__ import annotations

import asyncio
import io
import os
import py_compile
import sys
import tempfile
import zipfile
from importlib.util import cache_from_source
from pathlib import Path

import js
from pyodide.ffi import to_js

URL = "/bytecode.zip"
CACHE_PREFIX = "offsync-app-"  # web/sw.js: one cache per build
DELAY_SECONDS = 3.0  # after start-up, when the page is idle


async def compiled(root: Path) -> bytes:
    """A zip of unchecked-hash `.pyc` files for every module under `root`, at the paths the
    importer looks for them (`__pycache__/<name>.<tag>.pyc`); one module at a time, giving the
    page its turn in between."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, \
            tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "module.pyc")
        for source in sorted(root.rglob("*.py")):
            if "__pycache__" in source.parts:
                continue
            py_compile.compile(str(source), cfile=target, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            name = Path(cache_from_source(str(source))).relative_to(root).as_posix()
            zf.write(target, name)
            await asyncio.sleep(0)
    return buffer.getvalue()


async def keep(build: str) -> None:
    """Store the compiled modules for `build`, unless its cache has them already (or there is
    no cache of that build: no service worker)."""
    if not build or not hasattr(js, "caches"):
        return
    name = CACHE_PREFIX + build
    if not await js.caches.has(name):
        return
    cache = await js.caches.open(name)
    if await cache.match(URL):
        return
    await asyncio.sleep(DELAY_SECONDS)
    data = await compiled(Path.cwd())
    body = to_js(data)
    headers = to_js({"Content-Type": "application/zip"}, dict_converter=js.Object.fromEntries)
    response = js.Response.new(body, to_js({"headers": headers},
                                           dict_converter=js.Object.fromEntries))
    await cache.put(URL, response)


def start(build: str) -> None:
    async def run() -> None:
        try:
            await keep(build)
        except Exception as error:  # a cache that cannot be written only costs start-up time
            js.console.warn(f"offsync: compiled modules not kept: {error!r} ({sys.version})")

    asyncio.ensure_future(run())

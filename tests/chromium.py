"""Which Chromium the browser tests and the benchmarks launch, and with what flags: Debian's
(Playwright's own download is not used), without the sandbox and the background services that
would reach the network."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("OFFSYNC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

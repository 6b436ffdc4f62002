"""The 50 concurrent clients of the server-scaling figure, as a Locust load (bench/server_scaling.py
runs `locust --headless -f bench/locustfile.py`).

Each simulated client is one signed-in user of the app looping on a sync as `sync()` makes it when
one todo changed: push it (`POST /api/todos/sync/apply`), then pull what changed since its
checkpoint (`GET /api/todos/sync/changes`). The accounts and the wire docs they push (made with the
real `Todo` model) are prepared by the bench beforehand and handed over in the JSON file named by
`OFFSYNC_BENCH_LOAD`, so the load generator spends no CPU on scrypt or on building documents.
With `OFFSYNC_BENCH_TASK=push` a client only pushes (the writers' figure: how the one counter row
every write transaction locks serializes them).
"""

from __future__ import annotations

import itertools
import json
import os

from locust import FastHttpUser, constant, task

with open(os.environ["OFFSYNC_BENCH_LOAD"]) as _file:
    _LOAD = json.load(_file)
ACCOUNTS: list[dict] = _LOAD["accounts"]
VERSION = _LOAD["version"]  # the model version the docs are of, which a pull names
_next_account = itertools.count()
PUSH_ONLY = os.environ.get("OFFSYNC_BENCH_TASK", "sync") == "push"


class SyncingClient(FastHttpUser):
    wait_time = constant(0)  # closed loop: the next sync starts when the last one answered

    def on_start(self) -> None:
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        cookie = "; ".join(f"{k}={v}" for k, v in account["cookies"].items())
        self.read_headers = {"Cookie": cookie, "Accept": "application/json"}
        self.write_headers = {**self.read_headers, "X-CSRF-Token": account["csrf"]}
        self.docs = itertools.cycle(account["docs"])
        self.since = account["checkpoint"]

    @task
    def sync_one_change(self) -> None:
        body = {"protocol": 1, "version": VERSION, "docs": [next(self.docs)]}
        self.client.post("/api/todos/sync/apply", json=body, headers=self.write_headers,
                         name="POST /api/todos/sync/apply")
        if PUSH_ONLY:
            return
        with self.client.get("/api/todos/sync/changes",
                             params={"since": self.since, "limit": 500, "protocol": 1,
                                     "version": VERSION},
                             headers=self.read_headers, name="GET /api/todos/sync/changes",
                             catch_response=True) as response:
            if response.status_code == 200:
                self.since = response.json()["checkpoint"]
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

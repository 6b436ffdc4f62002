"""`python -m bench`: offsync's benchmarks, real Chromium against the real server.

Measurements only; nothing in `make test` depends on a timing (tests/test_bench_smoke.py runs the
harness in its tiny `--quick` mode and checks the shape of what it writes).
"""

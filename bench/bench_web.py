"""Web benchmark: p95 latency of the alert queue, the ticket board and the event page with
100,000 items and 2,000 events in the store, under 20 concurrent clients on loopback.

    python bench/bench_web.py [--items 100000] [--events 2000] [--clients 20] [--requests 400] [--workers 2]

The server is the real thing (``yuqing web``: uvicorn in its own process, SQLite in WAL mode).
Each figure is also given as a ratio to the login page (a template with no queries) measured
in the same run under the same load, so machines of different speed can be compared.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import figure  # noqa: E402

TARGET_MS = 200.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(folder: Path, items: int, events: int) -> dict[str, str]:
    from yuqing.clock import ManualClock
    from yuqing.dashboards.auth import create_user
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime
    from yuqing.settings import load_settings
    from yuqing.store import migrate

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' sample records
    from dashboard_seed import seed_bulk

    env = {"YUQING_DATA_DIR": str(folder), "YUQING_SECRET_KEY": "bench-secret-key-for-signing-0123456789", "YUQING_LOG_LEVEL": "WARNING",
           "YUQING_PROFILE": "zezhou-emergency"}
    settings = load_settings(environ=env)
    migrate(settings.sqlalchemy_url)
    from datetime import UTC, datetime

    rt = Runtime(settings=settings, profile=load_profile(settings.profile), clock=ManualClock(datetime.now(UTC)))
    started = time.perf_counter()
    seed_bulk(rt, items=items, events=events)
    create_user(rt, "bench", "bench-password", "monitor", "压测", by="bench")
    print(f"seeded {items:,} items, {events:,} events in {time.perf_counter() - started:.1f} s", flush=True)
    rt.engine.dispose()
    return env


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")} | env
    proc = subprocess.Popen([sys.executable, "-m", "yuqing", "web", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)],
                            env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the web server did not start: " + proc.stderr.read().decode()[-2000:])


def login(base: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
        assert r.status_code == 303, r.text
        return c.cookies


def load(base: str, cookies: httpx.Cookies, paths: list[str], clients: int) -> list[float]:
    """Every path once, spread over ``clients`` threads each with its own connection; ms each."""
    out: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    chunks = [paths[i::clients] for i in range(clients)]

    def run(chunk: list[str]) -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
            for path in chunk:
                t0 = time.perf_counter()
                r = c.get(path)
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    errors.append(f"{path} answered {r.status_code}")
                    return
                with lock:
                    out.append(ms)

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(errors[0])
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (the machines have 2 cores)")
    args = ap.parse_args()
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-web-") as tmp:
        env = prepare(Path(tmp), args.items, args.events)
        port = free_port()
        server = start_server(env, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            cookies = login(base)
            load(base, cookies, ["/", "/tickets", "/events/1"] * 5, 3)  # warm-up
            pages = {
                "login page (baseline)": ["/login"] * args.requests,
                "alert queue /": ["/"] * args.requests,
                "ticket board /tickets": ["/tickets"] * args.requests,
                "event page /events/{id}": [f"/events/{rnd.randint(1, args.events)}" for _ in range(args.requests)],
            }
            results = {}
            for name, paths in pages.items():
                t0 = time.perf_counter()
                # the login page is measured signed out (signed in, it redirects)
                times = load(base, httpx.Cookies() if "baseline" in name else cookies, paths, args.clients)
                wall = time.perf_counter() - t0
                results[name] = p95(times)
                print(f"{name:28} p50 {statistics.median(times):7.1f} ms  p95 {results[name]:7.1f} ms  "
                      f"{len(times) / wall:6.1f} req/s", flush=True)
        finally:
            server.terminate()
            server.wait(10)
    base_p95 = results.pop("login page (baseline)")
    scale = f"{args.items:,} items, {args.events:,} events, {args.clients} clients, {args.workers} workers"
    for name, value in results.items():
        verdict = "ok" if value < TARGET_MS else "over target"
        figure("web", f"p95 {name} ({scale})", f"{value:.0f} ms ({value / base_p95:.1f}× login page; {verdict})",
               f"< {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()

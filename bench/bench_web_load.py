"""The dashboard under 50 concurrent clients (locust on loopback), with 100,000 items and 2,000
events in the store.

    python -m pip install -e .[bench]
    python bench/bench_web_load.py [--users 50] [--seconds 60] [--items 100000] [--events 2000]

The clients behave like the dashboard's people: monitors whose console polls the queue fingerprint
and who open the queue, events, tickets and search with 1–4 s between clicks, and leaders opening
their board every 3–10 s. That offered load (about 20 requests/s from 50 people) is what a bureau's
busiest day looks like; closed-loop clients with no pause would measure only throughput.
A baseline run first sends the same 50 users to the login page (a template with no queries), so
each p95 is also given as a ratio measured in the same session on the same machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_web import free_port, prepare, start_server  # noqa: E402
from figures import figure  # noqa: E402

TARGET_MS = 200.0


def add_leader_and_index(env: dict[str, str]) -> None:
    """A leader account, and the search index brought up to date as the every-minute job keeps it."""
    from yuqing.dashboards.auth import create_user
    from yuqing.dashboards.search import refresh_index
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime
    from yuqing.settings import load_settings

    settings = load_settings(environ=env)
    rt = Runtime(settings=settings, profile=load_profile(settings.profile))
    create_user(rt, "boss", "boss-password", "leader", "局长", by="bench")
    refresh_index(rt)
    rt.engine.dispose()


def session_cookie(base: str, username: str, password: str) -> str:
    import re

    with httpx.Client(base_url=base) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
        if r.status_code != 303:
            raise SystemExit(f"login as {username} failed: {r.status_code} {r.text[:200]}")
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


def run_locust(base: str, env: dict[str, str], users: int, seconds: int, folder: Path) -> list[dict[str, str]]:
    locust = shutil.which("locust")
    if locust is None:
        raise SystemExit("locust is not installed: python -m pip install -e .[bench]")
    prefix = folder / "stats"
    cmd = [locust, "-f", str(HERE / "locustfile.py"), "--headless", "--host", base, "-u", str(users),
           "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--reset-stats", "--csv", str(prefix),
           "--only-summary", "--loglevel", "WARNING"]
    proc = subprocess.run(cmd, env=os.environ | env, capture_output=True, text=True)
    # locust exits 1 when any request failed; the failure counts are reported below instead.
    if proc.returncode not in (0, 1):
        raise SystemExit(f"locust failed ({proc.returncode}): {proc.stderr[-2000:]}")
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["Name"] != "Aggregated"]


def warm_up(base: str, cookies: dict[str, str]) -> None:
    """Every page a few times, so each uvicorn worker has loaded jieba and its templates before timing."""
    pages = {"MONITOR_COOKIE": ["/", "/api/alerts/version", "/tickets", "/events/1", "/search?q=透水"],
             "LEADER_COOKIE": ["/leader"]}
    for role, paths in pages.items():
        with httpx.Client(base_url=base, headers={"Cookie": cookies[role]}, timeout=120) as c:
            for _ in range(6):
                for path in paths:
                    r = c.get(path)
                    if r.status_code != 200:
                        raise SystemExit(f"warm-up: {path} answered {r.status_code}")


def show(rows: list[dict[str, str]]) -> None:
    for r in rows:
        print(f"{r['Name']:28} n {int(r['Request Count']):6d}  fail {int(r['Failure Count']):4d}  "
              f"p50 {float(r['50%']):6.0f} ms  p95 {float(r['95%']):6.0f} ms  {float(r['Requests/s']):6.1f} req/s",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (the machines have 2 cores)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-load-web-") as tmp:
        folder = Path(tmp)
        env = prepare(folder / "data", args.items, args.events)
        add_leader_and_index(env)
        port = free_port()
        server = start_server(env, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            cookies = {"MONITOR_COOKIE": session_cookie(base, "bench", "bench-password"),
                       "LEADER_COOKIE": session_cookie(base, "boss", "boss-password"),
                       "BENCH_EVENTS": str(args.events)}
            warm_up(base, cookies)
            baseline = run_locust(base, cookies | {"LOGIN_ONLY": "1"}, args.users, max(20, args.seconds // 2), folder)
            show(baseline)
            rows = run_locust(base, cookies, args.users, args.seconds, folder)
            show(rows)
        finally:
            server.terminate()
            server.wait(10)
    base_p95 = float(baseline[0]["95%"])
    scale = f"{args.users} clients, {args.items:,} items, {args.events:,} events"
    total = sum(int(r["Request Count"]) for r in rows)
    failed = sum(int(r["Failure Count"]) for r in rows)
    figure("web under load", f"requests answered ({scale}, {args.seconds} s)",
           f"{total - failed:,} of {total:,} ({sum(float(r['Requests/s']) for r in rows):.1f} req/s)", "no errors")
    for r in rows:
        p95 = float(r["95%"])
        verdict = "ok" if p95 < TARGET_MS else "over target"
        figure("web under load", f"p95 {r['Name']} ({scale})",
               f"{p95:.0f} ms ({p95 / base_p95:.1f}× login page; {verdict})", f"< {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()

"""The reliability table: every fault drill of issue 8, run now, with what it measured.

    python bench/bench_faults.py                 # every drill
    python bench/bench_faults.py "yuqing run" "store cannot"   # only drills whose name contains one of these

Each drill is a test with real processes (``tests/test_reliability_*.py`` and the others named
below): a worker SIGKILLed mid-job, Redis stopped and restarted, the database locked or down,
hostile sources, a web restart, hostile input and requests. This runs them with pytest, reads
the JUnit report (durations, and the recovery times the drills record with ``record_property``)
and prints one figure per drill. A drill that fails is printed as failed, never left out.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from figures import figure  # noqa: E402

T = "tests/"
DRILLS: list[tuple[str, str, list[str]]] = [
    ("worker SIGKILLed mid analysis job (with its scheduler)", "runs again once; nothing half-written",
     [T + "test_reliability_faults.py::test_analysis_job_killed_with_its_worker_runs_again_once"]),
    ("work horse SIGKILLed mid ticket job (SQLite, PostgreSQL)", "retried; one ticket, one e-mail each",
     [T + "test_reliability_tickets.py"]),
    ("worker SIGKILLed, its job handed on by the minute sweep", "a survivor runs it",
     [T + "test_reliability_faults.py::test_the_sweep_hands_a_dead_workers_job_to_a_survivor"]),
    ("worker SIGKILLed mid e-mail send", "sent exactly once after the lease",
     [T + "test_reliability_faults.py::test_delivery_killed_mid_send_is_sent_exactly_once_after_its_lease"]),
    ("Redis stopped and restarted mid-run (AOF on)", "queued jobs kept; each runs once",
     [T + "test_reliability_redis.py"]),
    ("Redis data lost: deadlines and reminders from the database", "reminder sent once",
     [T + "test_queue_clocks.py::test_sweep_recovers_reminders_lost_with_redis"]),
    ("SQLite write-locked; PostgreSQL stopped and started", "jobs retry with back-off and succeed",
     [T + "test_reliability_database.py::test_a_briefly_locked_sqlite_database_is_waited_out",
      T + "test_reliability_database.py::test_postgres_down_then_back_jobs_retry_and_succeed"]),
    ("crawl storing: a row the store refuses; the store away", "only that row lost; the rest fetched next run",
     [T + "test_crawlers_pipelines.py"]),
    ("source that hangs, floods or returns garbage", "only that source marked unhealthy",
     [T + "test_crawlers_spiders.py::test_every_kind_and_every_bad_case",
      T + "test_crawlers_jobs.py::test_hanging_crawl_is_killed_at_its_timeout",
      T + "test_crawlers_jobs.py::test_health_turns_red_once_and_recovers"]),
    ("web server restarted", "sessions survive",
     [T + "test_dashboards_app.py::test_session_survives_a_restart_and_ends_when_the_password_changes"]),
    ("yuqing status and /healthz", "say what is down",
     [T + "test_core_cli.py::test_status_counts_and_says_what_is_down",
      T + "test_core_cli.py::test_status_when_redis_is_down",
      T + "test_reliability_database.py::test_status_reports_a_killed_worker_gone_at_once",
      T + "test_dashboards_app.py::test_healthz"]),
    ("fuzzed input: dates, text, URLs, feeds, HTML, JSON, scoring lines", "no crash; clear error; nothing half-stored",
     [T + "test_fuzz_normalise.py", T + "test_fuzz_spiders.py", T + "test_fuzz_scoring.py",
      T + "test_fuzz_store.py", T + "test_fuzz_atheris.py", T + "test_core_fuzz.py"]),
    ("hostile requests: schemathesis, SQL injection, CSRF, roles", "no 5xx; nothing leaked; tables intact",
     [T + "test_security_api.py", T + "test_security_injection.py"]),
    ("store cannot be written (read-only, disk full)", "status and /healthz say so; ok again at once",
     [T + "test_security_faults.py::test_status_and_healthz_report_a_store_that_cannot_be_written",
      T + "test_security_faults.py::test_the_store_writable_again_is_seen_at_once"]),
    ("yuqing run: embedded Redis SIGTERMed", "restarted with back-off; workers and scheduler back",
     [T + "test_security_faults.py::test_yuqing_run_restarts_a_sigtermed_embedded_redis",
      T + "test_security_faults.py::test_repeated_redis_failures_reach_the_administrator",
      T + "test_security_faults.py::test_one_child_back_off_does_not_hold_up_another"]),
]


def run(nodes: list[str], report: Path) -> int:
    # xunit1: the JUnit flavour that carries record_property values
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
           f"--junitxml={report}", *nodes]
    return subprocess.run(cmd, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def cases(report: Path) -> list[dict]:
    out = []
    for case in ET.parse(report).iter("testcase"):
        path = case.get("file") or (case.get("classname", "").replace(".", "/") + ".py")
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else (
            "skipped" if case.find("skipped") is not None else "passed")
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        out.append({"id": f"{path}::{case.get('name')}", "time": float(case.get("time", 0)),
                    "outcome": outcome, "props": props, "why": "" if bad is None else bad.get("message", "")})
    return out


def belongs(case_id: str, node: str) -> bool:
    file, _, name = node.partition("::")
    case_file, _, case_name = case_id.partition("::")
    return case_file.endswith(file.removeprefix(T)) and (not name or case_name.split("[")[0] == name)


def main() -> None:
    only = sys.argv[1:]
    drills = [d for d in DRILLS if not only or any(words in d[0] for words in only)]
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-faults-") as tmp:
        report = Path(tmp) / "junit.xml"
        nodes = [n for _, _, group in drills for n in group]
        print(f"running {len(nodes)} drills with pytest …", flush=True)
        run(nodes, report)
        results = cases(report)
    for fault, expected, group in drills:
        mine = [c for c in results if any(belongs(c["id"], n) for n in group)]
        passed = sum(c["outcome"] == "passed" for c in mine)
        failed = [c["id"] for c in mine if c["outcome"] != "passed"]
        seconds = sum(c["time"] for c in mine)
        recovered = [f"{k.replace('_s', '').replace('_', ' ')} {v} s" for c in mine for k, v in c["props"].items()]
        if not mine:
            value = "NOT RUN (no such test)"
        elif failed:
            value = f"FAILED: {len(failed)} of {len(mine)} ({', '.join(failed)[:200]})"
        else:
            value = f"passed {passed} of {len(mine)} in {seconds:.0f} s" + (f"; {'; '.join(recovered)}"
                                                                                   if recovered else "")
        print(f"{fault:64} {value}", flush=True)
        for c in mine:
            if c["why"]:
                print(f"    {c['id']}: {c['why'][:400]}", flush=True)
        figure("reliability", fault, value, expected)


if __name__ == "__main__":
    main()

"""Run the benchmarks and rewrite the README's performance tables from what they print.

    python bench/report.py                # every benchmark (takes a while)
    python bench/report.py bench_analysis # only some; the other rows are kept
    python bench/report.py bench_load=out.log  # the FIGURE lines of a saved run of that benchmark

Figures are never typed by hand: each row names the command that reproduces it and the date.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "results.json"  # kept in git: the last figures of each benchmark
START, END = "<!-- figures:start -->", "<!-- figures:end -->"

BENCHES = {
    "bench_crawl": [sys.executable, "bench/bench_crawl.py"],
    "bench_analysis": [sys.executable, "bench/bench_analysis.py"],
    "bench_foresight": [sys.executable, "bench/bench_foresight.py"],  # 事前研判: finding the right past events
    "bench_web": [sys.executable, "bench/bench_web.py"],
    "bench_web_load": [sys.executable, "bench/bench_web_load.py"],  # about 5 min: 50 locust clients
    "bench_faults": [sys.executable, "bench/bench_faults.py"],  # about 6 min: the fault drills
    "bench_load": [sys.executable, "bench/bench_load.py"],  # 1,000,000 items: about 25 min on 2 cores
    "bench_load_pg": [sys.executable, "bench/bench_load.py", "--db", "postgres"],  # the same on PostgreSQL
    "bench_tokens": [sys.executable, "bench/bench_tokens.py"],  # rjieba against jieba: agreement and speed
    "bench_search": [sys.executable, "bench/bench_search.py"],  # PostgreSQL: GIN token index against LIKE
    "bench_decisions": [sys.executable, "bench/bench_decisions.py", "--compare", "bench/decisions.json"],
    "bench_latency": [sys.executable, "bench/bench_latency.py"],  # about 10 min: 200 posts, real processes
}


def run(name: str) -> list[dict[str, str]]:
    cmd = BENCHES[name]
    print(f"== {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-4000:])
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    return figures(name, proc.stdout, dt.date.today())


def from_output(name: str, path: Path) -> list[dict[str, str]]:
    """The figures of a run of the same command saved earlier (``bench_load=run.log``): an hour-long
    benchmark need not be run a second time to reach the README. Dated by the file's time."""
    day = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
    rows = figures(name, path.read_text(encoding="utf-8"), day)
    if not rows:
        raise SystemExit(f"{path}: no FIGURE lines; is it the output of {' '.join(BENCHES[name][1:])}?")
    return rows


def figures(name: str, output: str, day: dt.date) -> list[dict[str, str]]:
    rows = []
    given = [line.split("|", 1)[1] for line in output.splitlines() if line.startswith("COMMAND|")]
    for line in output.splitlines():
        if line.startswith("FIGURE|"):
            _, area, what, value, target = line.split("|", 4)
            rows.append({"area": area, "what": what, "value": value, "target": target,
                         "command": given[0] if given else "python " + " ".join(BENCHES[name][1:]),
                         "date": day.isoformat()})
    return rows


def render(results: dict[str, list[dict[str, str]]]) -> str:
    by_area: dict[str, list[dict[str, str]]] = {}
    for rows in results.values():
        for row in rows:
            by_area.setdefault(row["area"], []).append(row)
    out = [START]
    for area in sorted(by_area):
        out += [f"\n### {area}\n", "| figure | value | target | command | date |", "| --- | --- | --- | --- | --- |"]
        out += [f"| {r['what']} | {r['value']} | {r['target']} | `{r['command']}` | {r['date']} |"
                for r in by_area[area]]
    out.append(END)
    return "\n".join(out)


def main() -> None:
    names = sys.argv[1:] or list(BENCHES)
    unknown = [n for n in names if n.partition("=")[0] not in BENCHES]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown[0]!r}; expected one of {', '.join(BENCHES)}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for arg in names:
        name, _, saved = arg.partition("=")
        results[name] = from_output(name, Path(saved)) if saved else run(name)
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    text = README.read_text(encoding="utf-8")
    table = render(results)
    if START in text:
        head, rest = text.split(START, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    README.write_text(text, encoding="utf-8")
    print(f"README tables rewritten from {sum(len(v) for v in results.values())} figures")


if __name__ == "__main__":
    main()

"""Benchmark: one official document to PDF (with its 版记 placed, so two or three prints) through
the process's one Chromium over DevTools, against a fresh ``chromium --print-to-pdf`` per print
(how it was done before), in the same run. Prints seconds per document of each and the ratio.

    python bench/bench_pdf.py [--rounds 3] [--paragraphs 20]

The machine may be shared: each round makes the document both ways back to back (the order
alternating from round to round); the figure is the median round's ratio. The first print of
the persistent browser (its start) is paid inside round 1, as a process pays it once.
Both ways must give the same pages: the words' boxes (``pdftotext -bbox``) are compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from yuqing.documents import Heading, OfficialDocument, Paragraph, Table, pdf
from yuqing.documents.html_writer import to_html

FRESH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


def print_fresh(html: str, timeout: int) -> bytes:
    """The old way: a new Chromium for every print."""
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        page, out = Path(tmp) / "document.html", Path(tmp) / "document.pdf"
        page.write_text(html, encoding="utf-8")
        subprocess.run([pdf.chromium_path(), *FRESH_ARGS, f"--user-data-dir={tmp}/profile",
                        f"--print-to-pdf={out}", page.as_uri()], capture_output=True, timeout=timeout, check=True)
        return out.read_bytes()


def document(paragraphs: int) -> OfficialDocument:
    """A 专报-sized document with a table and a 版记."""
    rows = [[f"12月1日{8 + i}时", "微博", f"关于某地某事的第{i + 1}条帖文"] for i in range(6)]
    blocks = [Heading("基本情况"), *(Paragraph.of(f"第{i + 1}段正文，" + "叙述事件经过与处置情况，" * 6 + "完。")
                                     for i in range(paragraphs)),
              Heading("重点帖文"), Table(["时间", "来源", "标题"], rows, [1, 1, 3], "重点帖文")]
    return OfficialDocument(series="舆情专报", issuer="泽州县委网信办", title="关于某地某事的舆情专报",
                            issued_at=datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
                            cc=["县人民政府办公室", "县应急管理局"], printer="泽州县委网信办", blocks=blocks)


def boxes(data: bytes) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["pdftotext", "-bbox", f.name, "-"], capture_output=True, check=True).stdout
    return out[out.index(b"<page"):]


def timed(html: str, fresh: bool) -> tuple[float, bytes]:
    ours = pdf._print
    if fresh:
        pdf._print = print_fresh  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        data = pdf.html_to_pdf(html)
        return time.perf_counter() - start, data
    finally:
        pdf._print = ours  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paragraphs", type=int, default=20)
    args = ap.parse_args()
    html = to_html(document(args.paragraphs))
    ratios = []
    for r in range(args.rounds):
        order = [True, False] if r % 2 == 0 else [False, True]
        got = {fresh: timed(html, fresh) for fresh in order}
        (t_fresh, fresh_pdf), (t_ours, our_pdf) = got[True], got[False]
        same = "same pages" if boxes(fresh_pdf) == boxes(our_pdf) else "PAGES DIFFER"
        ratios.append(t_fresh / t_ours)
        print(f"round {r + 1}: fresh Chromium per print {t_fresh:.2f} s, one Chromium {t_ours:.2f} s, "
              f"{t_fresh / t_ours:.2f}× faster, {same}", flush=True)
    print(f"median: one Chromium is {statistics.median(ratios):.2f}× as fast as a fresh Chromium per print")


if __name__ == "__main__":
    main()

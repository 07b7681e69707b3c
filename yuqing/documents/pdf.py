"""PDF through Debian's headless Chromium printing the document's HTML (DevTools' ``Page.printToPDF``,
in the process's one browser: :mod:`yuqing.documents.chromium`).

Chromium shapes and embeds the CJK font itself; the pure-Python options fall short here
(reportlab cannot embed Noto CJK's CFF outlines, fpdf2 cannot read the .ttc collection Debian
ships), and one HTML source for the PDF means the formats never drift apart.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path

from . import chromium
from . import layout as L
from .exceptions import DocumentError
from .html_writer import MARK_FOOT, MARK_TOP, RECORD_OPEN, for_print, to_html
from .model import OfficialDocument

log = logging.getLogger(__name__)

class PdfError(DocumentError):
    """No PDF could be made (no Chromium, a timeout, an empty file)."""

    hint = ("PDF 需要 Debian 的 chromium 与 fonts-noto-cjk，版记定位需要 poppler-utils："
            "apt-get install chromium fonts-noto-cjk poppler-utils")


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise PdfError("未找到 chromium，无法生成 PDF")


# At most this many prints at once per process (each a tab with its own renderer): 8 concurrent PDF
# reports used to start 8 Chromiums (5.8 GB). The others wait their turn, for at most CHROMIUM_WAIT seconds.
CHROMIUM_SLOTS = 2
CHROMIUM_WAIT = 120.0
_chromiums = threading.BoundedSemaphore(CHROMIUM_SLOTS)


@contextmanager
def chromium_slot() -> Iterator[None]:
    """Hold one of the CHROMIUM_SLOTS while a print runs; :class:`PdfError` when none frees up."""
    if not _chromiums.acquire(timeout=CHROMIUM_WAIT):
        raise PdfError(f"PDF 生成繁忙（同时最多 {CHROMIUM_SLOTS} 份），请稍后再试")
    try:
        yield
    finally:
        _chromiums.release()


def _print(html: str, timeout: int) -> bytes:
    """One HTML page printed by Chromium (A4 as its ``@page`` says) to PDF bytes."""
    with tempfile.TemporaryDirectory(prefix="yuqing-pdf-") as tmp:
        page = Path(tmp) / "document.html"
        page.write_text(html, encoding="utf-8")
        path = chromium_path()
        try:
            with chromium_slot():
                try:
                    pdf = chromium.browser(path).print_pdf(page.as_uri(), timeout)
                except chromium.ChromiumGone:  # it died since the last print: once more, in a new one
                    pdf = chromium.browser(path).print_pdf(page.as_uri(), timeout)
        except chromium.ChromiumTimeout:
            raise PdfError(f"chromium 生成 PDF 超时（{timeout} 秒）") from None
        except chromium.ChromiumGone as gone:
            raise PdfError(f"chromium 未能生成 PDF（退出码 {gone.returncode}）：{gone.stderr[-300:]}") from None
        except (chromium.ChromiumRefused, OSError) as exc:
            raise PdfError(f"chromium 未能生成 PDF：{exc}") from None
        if not pdf:
            raise PdfError("chromium 未能生成 PDF：输出为空")
        return pdf


PT_PER_PX = 72 / 96
FOOT_PT = (L.TOP_MM + L.BODY_H_MM) * 72 / 25.4  # the 版心's bottom edge, from the page's top
_WORD = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>')


def words(pdf: bytes) -> list[list[tuple[float, float, str]]]:
    """Each page's words with their top and bottom in points (``pdftotext -bbox``, poppler)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdftotext", "-bbox", f.name, "-"], capture_output=True, check=True, timeout=60).stdout
    return [[(float(top), float(bottom), unescape(w)) for top, bottom, w in _WORD.findall(page)]
            for page in re.findall(r"<page [^>]*>(.*?)</page>", out.decode("utf-8", "replace"), re.S)]


def _record_place(pages: list[list[tuple[float, float, str]]]) -> tuple[int, float, float, bool] | None:
    """Where the probe's 版记 landed: (page, top, foot, alone on its page); None if not found."""
    tops = [(n, top) for n, page in enumerate(pages) for top, _, w in page if w == MARK_TOP]
    feet = [(n, bottom) for n, page in enumerate(pages) for _, bottom, w in page if w == MARK_FOOT]
    if len(tops) != 1 or len(feet) != 1 or tops[0][0] != feet[0][0]:
        return None
    (n, top), (_, foot) = tops[0], feet[0]
    alone = not any(bottom < top for _, bottom, w in pages[n] if w not in (MARK_TOP, MARK_FOOT))
    return n, top, foot, alone


def html_to_pdf(html: str, timeout: int = 120) -> bytes:
    """Print one HTML page to PDF bytes; a 版记 (GB/T 9704 7.4) stands at the foot of the last page.

    The 版记 is placed by measuring, not by imitating Chromium's page breaking: a probe print
    marks its top and foot, the room below it becomes padding above it, and the print that
    goes out is checked to end with the 版记 at the foot of its last page.
    """
    if RECORD_OPEN not in html:
        return _print(html, timeout)
    if shutil.which("pdftotext") is None:
        log.warning("pdftotext (poppler-utils) not found: the 版记 is printed where the text ends")
        return _print(for_print(html), timeout)
    move_last = False
    for _ in range(2):
        place = _record_place(words(_print(for_print(html, probe=True, move_last=move_last), timeout)))
        if place is None:  # taller than a page, or split: leave it where it falls
            return _print(for_print(html, move_last=move_last), timeout)
        page, _, foot, alone = place
        if alone and not move_last:
            move_last = True  # the 版记 alone on a page: the text's last block goes with it
            continue
        room = (FOOT_PT - foot) / PT_PER_PX
        for slack in (0.75, 4.0):  # a rounding pixel; then a few more, if the first print spilled
            pdf = _print(for_print(html, pad_px=max(0.0, room - slack), move_last=move_last), timeout)
            if _ends_at_the_foot(words(pdf), page):
                return pdf
        log.warning("版记 could not be set at the foot of page %d; printed where it fits", page + 1)
        return _print(for_print(html, move_last=move_last), timeout)
    return _print(for_print(html, move_last=move_last), timeout)


def _ends_at_the_foot(pages: list[list[tuple[float, float, str]]], page: int) -> bool:
    """The document ends on ``page`` with the 版记's 印发 line in the last line's space of the 版心."""
    found = [(n, bottom) for n, p in enumerate(pages) for _, bottom, w in p if w.endswith("印发")]
    return (len(pages) == page + 1 and len(found) == 1 and found[0][0] == page
            and FOOT_PT - L.LINE_PT < found[0][1] <= FOOT_PT)


def write_pdf(document: OfficialDocument) -> bytes:
    """The document as PDF bytes."""
    return html_to_pdf(to_html(document))

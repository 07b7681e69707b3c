"""PDF through Debian's headless Chromium printing the document's HTML (``--print-to-pdf``).

Chromium shapes and embeds the CJK font itself; the pure-Python options fall short here
(reportlab cannot embed Noto CJK's CFF outlines, fpdf2 cannot read the .ttc collection Debian
ships), and one HTML source for the PDF means the formats never drift apart.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .exceptions import DocumentError
from .html_writer import for_print, to_html
from .model import OfficialDocument

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


class PdfError(DocumentError):
    """No PDF could be made (no Chromium, a timeout, an empty file)."""

    hint = "PDF 需要 Debian 的 chromium 与 fonts-noto-cjk：apt-get install chromium fonts-noto-cjk"


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise PdfError("未找到 chromium，无法生成 PDF")


# At most this many Chromiums at once per process (each ~700 MB): 8 concurrent PDF reports used to
# start 8 (5.8 GB). The others wait their turn, for at most CHROMIUM_WAIT seconds.
CHROMIUM_SLOTS = 2
CHROMIUM_WAIT = 120.0
_chromiums = threading.BoundedSemaphore(CHROMIUM_SLOTS)


@contextmanager
def chromium_slot() -> Iterator[None]:
    """Hold one of the CHROMIUM_SLOTS while a Chromium runs; :class:`PdfError` when none frees up."""
    if not _chromiums.acquire(timeout=CHROMIUM_WAIT):
        raise PdfError(f"PDF 生成繁忙（同时最多 {CHROMIUM_SLOTS} 份），请稍后再试")
    try:
        yield
    finally:
        _chromiums.release()


def html_to_pdf(html: str, timeout: int = 120) -> bytes:
    """Print one HTML page (A4 as its ``@page`` says) to PDF bytes."""
    with tempfile.TemporaryDirectory(prefix="yuqing-pdf-") as tmp:
        page = Path(tmp) / "document.html"
        page.write_text(for_print(html), encoding="utf-8")
        pdf = Path(tmp) / "document.pdf"
        cmd = [chromium_path(), *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}",
               page.as_uri()]
        try:
            with chromium_slot():
                proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfError(f"chromium 生成 PDF 超时（{timeout} 秒）") from None
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise PdfError(f"chromium 未能生成 PDF（退出码 {proc.returncode}）："
                           f"{proc.stderr.decode('utf-8', 'replace')[-300:]}")
        return pdf.read_bytes()


def write_pdf(document: OfficialDocument) -> bytes:
    """The document as PDF bytes."""
    return html_to_pdf(to_html(document))

"""An issued document's files: the DOCX, the HTML page it prints from, and the PDF twin.

Every document that is mailed (专报, 续报, 终报, 日报, 要情专报) goes out as DOCX and PDF of the
same record. The PDF is printed once the issuing transaction has committed, not inside it: a
print takes seconds (two or three to place the 版记) and SQLite's write lock would be held
meanwhile, so another worker's write gave up with "database is locked". Mails are enqueued
after it (``after_commit`` runs its steps in order) and held by a lease until then
(``alerts.delivery.awaiting_print``); where the print fails the mail carries the DOCX alone
(``alerts.delivery.present``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from yuqing.store import after_commit

from .docx_writer import write_docx
from .html_writer import to_html
from .model import OfficialDocument
from .pdf import PdfError, html_to_pdf

log = logging.getLogger(__name__)


def write_files(session: Session, doc: OfficialDocument, path: Path) -> Path:
    """Write ``doc`` as DOCX at ``path`` (its name ends .docx) with its print page beside it
    (.html, kept as issued: a later download prints this very document, not one from later
    figures), and print the PDF beside them once ``session`` commits. Returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_docx(doc))
    page = to_html(doc)
    path.with_suffix(".html").write_text(page, encoding="utf-8")
    after_commit(session, lambda: print_pdf(page, path.with_suffix(".pdf")))
    return path


def print_pdf(page: str, path: Path) -> None:
    """The same document as PDF at ``path``. Without Chromium the DOCX still goes out: a reader
    must not wait for the second format; the error is logged."""
    try:
        # Whole or not at all: a mail whose hold ran out must never attach half a file.
        write_whole(path, html_to_pdf(page))
    except PdfError as exc:
        path.unlink(missing_ok=True)
        log.error("%s: no PDF: %s", path.name, exc)


def write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path`` whole or not at all: written beside it, then renamed over it, so a
    reader (a mail, a second download) never sees half a file."""
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    partial.replace(path)


def attachments(docx: str | Path) -> list[Path]:
    """What a document's mail carries: the DOCX and its PDF twin."""
    return [Path(docx), Path(docx).with_suffix(".pdf")]

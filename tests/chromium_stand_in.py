"""``python -m chromium_stand_in worker``: the `yuqing` command with Chromium's print stood in for.

conftest's ``print_stand_in`` patches the print in the test's own process; a real worker
process (tests/reliability_procs.py) is started this way instead of ``python -m yuqing`` when
its test asks for the stand-in. The same process runs the same command (``yuqing.cli.main``),
with ``yuqing.documents.pdf.html_to_pdf`` replaced before any module imports it by name.
"""

from __future__ import annotations

from yuqing.documents import pdf

STAND_IN_PDF = b"%PDF-1.4\n% a stand-in for Chromium's print\n"


def stand_in(html: str, timeout: int = 120) -> bytes:
    return STAND_IN_PDF


if __name__ == "__main__":
    pdf.html_to_pdf = stand_in
    from yuqing.cli import main  # after the patch: yuqing.documents.issued imports the name

    main()

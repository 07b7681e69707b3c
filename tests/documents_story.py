"""A seeded story for the document tests: tests/dashboard_seed.py's day, plus a provincial paper whose
toll rises (3 dead at 14:14, then 12 dead at 16:16) on the mine flooding, its ticket and referrals."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard_seed import seed_story
from docx import Document
from docx.oxml.ns import qn

from yuqing.documents.current import refresh_account
from yuqing.documents.keep import KEPT, unjoined
from yuqing.models import Deadline, Event, Item, Referral, Source, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def toll_story(rt) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = seed_story(rt)
    now = rt.now()
    day = now.astimezone(SHANGHAI).date()
    at_1414 = datetime(day.year, day.month, day.day, 14, 14, tzinfo=SHANGHAI)
    at_1616 = datetime(day.year, day.month, day.day, 16, 16, tzinfo=SHANGHAI)
    with rt.session() as s:
        paper = Source(key="sxrb", name="山西日报", kind="feed", urls=["http://sxrb.example/rss"], tier="provincial",
                       created_at=now - timedelta(days=30))
        s.add(paper)
        s.flush()
        flood = s.get(Event, ids["flood"])
        for n, (when, deaths, missing, title) in enumerate((
                (at_1414, 3, 5, "泽州县巴公镇煤矿透水事故已致3人死亡"),
                (at_1616, 12, 2, "泽州县巴公镇煤矿透水事故死亡人数升至12人"))):
            url = f"http://sxrb.example/{n}.html"
            s.add(Item(source_id=paper.id, url=url, url_hash=_h(url), title=title,
                       text=f"{title}，另有{missing}人失联，家属质疑瞒报，要求公开救援进展。", author="山西日报",
                       tier="provincial", platform="网站", published_at=when, fetched_at=when + timedelta(minutes=3),
                       content_hash=_h(title), event_id=flood.id, emotion=0.7,
                       casualties={"deaths": deaths, "missing": missing},
                       places=[{"code": "140525101", "name": "巴公镇"}]))
        flood.item_count += 2
        flood.unique_count += 2
        flood.source_count += 1
        flood.places = [{"code": "140525", "name": "泽州县"}, {"code": "140525101", "name": "巴公镇"}]
        s.flush()
        refresh_account(s, flood)  # as analysis keeps it for items it groups
        ticket = Ticket(event_id=flood.id, state="assigned", level="重大", title=flood.title,
                        opened_at=flood.first_seen_at, detected_at=flood.first_seen_at, section_key="safety",
                        section_name="安全生产综合协调科", updated_at=now)
        s.add(ticket)
        s.flush()
        s.add_all([Deadline(ticket_id=ticket.id, kind="authoritative_info", due_at=flood.first_seen_at + timedelta(hours=5)),
                   Deadline(ticket_id=ticket.id, kind="press_conference", due_at=flood.first_seen_at + timedelta(hours=24)),
                   Deadline(ticket_id=ticket.id, kind="first_response", due_at=flood.first_seen_at + timedelta(hours=48))])
        ref = Referral(event_id=flood.id, ticket_id=ticket.id, department_key="propaganda",
                       department_name="中共泽州县委宣传部", level="重大", status="sent", created_at=now, route="r",
                       suggestion="")
        s.add(ref)
        s.flush()
        ids.update(flood_ticket=ticket.id, flood_referral=ref.id)
    return ids


# What a table cell's line never breaks inside (a date, a time, a figure with its unit, a
# telephone number: the documents' own rule) and an ASCII word (a hash prefix, a number).
_WHOLE_RUN = re.compile(KEPT.pattern + r"|[!-~]+")
_CELL_MARGINS_TWIPS = 2 * 108  # Table Grid's left and right cell margins (0.19 cm each)


def _line_twips(text: str, pt: float = 12.0) -> int:
    """The width of ``text`` on one line at 小四: a 汉字 one em, an ASCII character half."""
    return round(sum(pt * 20 / (2 if ord(ch) < 0x80 else 1) for ch in text))


def docx_table_faults(body: bytes) -> list[str]:
    """What would let Word or WPS lay a DOCX table out other than as written: no fixed layout or
    table width in twips, a w:tcW differing from its w:gridCol, a row that may split across pages
    (no w:cantSplit), a header not repeated (w:tblHeader), and a column too narrow for a header on
    one line or for a cell's longest unbreakable run (2026-12-/01, 12月1日14时/05分)."""
    faults: list[str] = []
    for n, table in enumerate(Document(io.BytesIO(body)).tables):
        tbl = table._tbl
        if tbl.tblPr.find(qn("w:tblpPr")) is not None:
            continue  # the 版记, one full-width column at the foot of the last page
        grid = [int(c.get(qn("w:w"))) for c in tbl.tblGrid.findall(qn("w:gridCol"))]
        layout = tbl.tblPr.find(qn("w:tblLayout"))
        width = tbl.tblPr.find(qn("w:tblW"))
        if layout is None or layout.get(qn("w:type")) != "fixed":
            faults.append(f"table {n}: layout not fixed")
        if width is None or width.get(qn("w:type")) != "dxa" or abs(int(width.get(qn("w:w"))) - sum(grid)) > 2:
            faults.append(f"table {n}: table width not the columns' sum in twips")
        if abs(sum(grid) - 8844) > 20:  # 156 mm
            faults.append(f"table {n}: columns add up to {sum(grid)} twips, not the 版心's 8844")
        for r, row in enumerate(table.rows):
            tr_pr = row._tr.trPr
            marks = {child.tag for child in tr_pr} if tr_pr is not None else set()
            if qn("w:cantSplit") not in marks:
                faults.append(f"table {n} row {r}: may split across pages")
            if r == 0 and qn("w:tblHeader") not in marks:
                faults.append(f"table {n}: header row not repeated")
            for c, (cell, col) in enumerate(zip(row.cells, grid, strict=True)):
                tc_w = cell._tc.tcPr.find(qn("w:tcW"))
                if tc_w is None or int(tc_w.get(qn("w:w"))) != col:
                    faults.append(f"table {n} row {r} column {c}: cell width differs from the grid's {col}")
                text = unjoined(cell.text)
                runs = [text] if r == 0 else _WHOLE_RUN.findall(text)
                for run in runs:
                    if _line_twips(run) > col - _CELL_MARGINS_TWIPS:
                        faults.append(f"table {n} row {r} column {c}: {run!r} does not fit {col} twips on one line")
    return faults

"""The event's stored account, kept by analysis as items arrive: when a provincial paper's toll
rises from 3 to 12 dead, the event page, the alert mail, the 专报 and the 要情专报 all give the
new title and figures (with source and time), and none still says 已致3人死亡."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from dashboard_seed import seed_users
from docx import Document
from fastapi.testclient import TestClient
from test_dashboards_app import login

from yuqing.alerts.jobs import sweep_alerts
from yuqing.analysis import jobs
from yuqing.dashboards.app import create_app
from yuqing.documents.current import merge, progression
from yuqing.documents.keep import unjoined
from yuqing.models import Event, Item, Source

# Chromium's print stood in for: these tests read no PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST = "泽州县巴公镇一煤矿发生透水事故已致3人死亡"
LATER = "泽州县巴公镇煤矿透水事故死亡人数升至12人"


@pytest.fixture(autouse=True)
def fresh_index():  # type: ignore[no-untyped-def]
    jobs.reset()
    yield
    jobs.reset()


def _report(rt, source_id: int, n: int, title: str, text: str) -> int:  # type: ignore[no-untyped-def]
    url = f"http://sxrb.example/{n}.html"
    with rt.session() as s:
        item = Item(source_id=source_id, url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=title,
                    text=text, author="山西日报", tier="provincial", platform="网站", published_at=rt.now(),
                    fetched_at=rt.now(), content_hash=hashlib.sha256(text.encode()).hexdigest())
        s.add(item)
        s.flush()
        return item.id


def _docx_text(blob: bytes) -> str:
    doc = Document(io.BytesIO(blob))
    return unjoined("\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]))


def _mails(smtp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each message's subject → every text its reader gets (plain part, attached DOCX)."""
    out: dict[str, str] = {}
    for msg in smtp.messages:
        texts = []
        for part in msg.walk():
            if (part.get_filename() or "").endswith(".docx"):
                texts.append(_docx_text(part.get_payload(decode=True)))
            elif part.get_content_type() == "text/plain":
                texts.append(part.get_payload(decode=True).decode())
        out[str(make_header(decode_header(msg["Subject"])))] = "\n".join(texts)
    return out


def test_a_rising_toll_retitles_the_event_on_every_page_mail_and_document(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    runtime.clock.set(datetime(2026, 12, 1, 14, 14, tzinfo=SHANGHAI))
    seed_users(runtime)
    with runtime.session() as s:
        paper = Source(key="sxrb", name="山西日报", kind="feed", urls=["http://sxrb.example/rss"], tier="provincial",
                       created_at=datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))  # monitoring began at 9:00
        s.add(paper)
        s.flush()
        paper_id = paper.id
    first = _report(runtime, paper_id, 1, FIRST, f"{FIRST}，另有5人失联，救援正在进行。")
    event_id = jobs.analyse_items([first])[first]
    with runtime.session() as s:
        assert s.get(Event, event_id).title == FIRST
    runtime.clock.advance(hours=2, minutes=2)
    later = _report(runtime, paper_id, 2, LATER, f"{LATER}，另有2人失联，家属质疑瞒报，要求公开救援进展。")
    assert jobs.analyse_items([later])[later] == event_id, "the later report joins the same event"
    with runtime.session() as s:
        event = s.get(Event, event_id)
        assert event.title == LATER, "the stored title follows the latest authoritative report"
        deaths = event.account["figures"]["deaths"]
        assert [(f["value"], f["source"]) for f in deaths] == [(3, "山西日报"), (12, "山西日报")]
        event.in_remit = event.in_jurisdiction = True
    drain()  # alert evaluation, the ticket, the referrals with their 专报, the 要情专报, the deliveries
    runtime.clock.advance(seconds=runtime.profile.alerts.group_wait_seconds)
    sweep_alerts()  # the alert's first notice, held for group_wait
    drain()
    latest = "据山西日报（省级媒体）12月1日16时16分报道，事件已致 12 人死亡、2 人失联"  # 3 of the 5 found
    mails = _mails(smtp)
    kinds = {"alert": "【舆情预警", "special": "【舆情专报】", "digest": "要情专报"}
    for kind, mark in kinds.items():
        found = {subject: text for subject, text in mails.items() if mark in subject}
        assert found, f"no {kind} mail among {sorted(mails)}"
        for subject, text in found.items():
            assert LATER in (subject if kind != "digest" else text) and FIRST not in subject, subject
            # The first report may be quoted (its title, as evidence); nothing else says 3 dead.
            told = (subject + text).replace(FIRST, "")
            assert "3人死亡" not in told and told.count("3 人死亡") == told.count("3 人死亡（14:14 山西日报）"), subject
            assert latest in re.sub(r"\s+", " ", text), subject
    digest = next(text for subject, text in mails.items() if "要情专报" in subject)
    # the schedule's period since this morning's 日报 slot (not the event's first two hours), with
    # monitoring's start said, in Chinese dates
    assert "统计时段：2026年12月1日 8时30分至2026年12月1日 16时16分（系统自2026年12月1日 9时00分起监测）" in digest
    assert "【要情专报】泽州县应急管理局 12月1日8时30分至16时16分" in mails
    # its count of the period's items agrees with the event's own, the latest report included
    assert "本期共监测相关信息 2 条" in digest and "累计监测到相关信息 2 条" in digest
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "monitor")
        page = client.get(f"/events/{event_id}").text
    assert f"{LATER}</h1>" in page and f"事件：{LATER}" in page
    assert page.count(FIRST) == page.count(f">{FIRST}</a>") + page.count(f"{FIRST}，"), "only as a quoted report"
    assert latest in page and "3 人死亡（14:14 山西日报） → 12 人死亡（16:16 山西日报）" in page


def test_merging_is_incremental_and_idempotent() -> None:
    """Batches merged one by one, in any order and twice, give the account of all at once."""
    at = datetime(2026, 12, 1, 6, 0, tzinfo=ZoneInfo("UTC"))
    items = [Item(title=f"报道{n}", tier="provincial", casualties={"deaths": deaths}, published_at=at + timedelta(hours=n),
                  fetched_at=at) for n, deaths in enumerate((3, 5, 4, 12))]
    whole = merge({}, items, {})
    account: dict = {}
    for batch in ([items[3]], [items[1], items[0]], [items[2]], [items[3]]):
        account = merge(account, batch, {})
    assert account == whole
    assert [f["value"] for f in whole["figures"]["deaths"]] == [3, 5, 12], "a lower later count is not a step"
    assert whole["titles"]["2"]["title"] == "报道3" and whole["first"]["at"] == at.isoformat()


def test_missing_and_trapped_counts_fall_when_an_outlet_reports_people_found() -> None:
    """5 人失联, then a provincial paper's 2 (three found): the account says 2; a later post
    repeating a smaller number it cannot vouch for changes nothing."""
    at = datetime(2026, 12, 1, 6, 0, tzinfo=ZoneInfo("UTC"))
    reports = [("provincial", 5), ("social", 5), ("provincial", 2), ("social", 1), ("local", 3)]
    items = [Item(title=f"报道{n}", tier=tier, casualties={"missing": missing, "deaths": 3 + n},
                  published_at=at + timedelta(hours=n), fetched_at=at) for n, (tier, missing) in enumerate(reports)]
    whole = merge({}, items, {})
    account: dict = {}
    for batch in ([items[4]], [items[2], items[0]], [items[3]], [items[1]], [items[4]]):
        account = merge(account, batch, {})
    assert account == whole, "still incremental and idempotent"
    missing = [(f["value"], f["tier"]) for f in progression("missing", whole["figures"]["missing"])]
    assert missing == [(5, "provincial"), (2, "provincial"), (3, "local")]
    assert [f["value"] for f in progression("deaths", whole["figures"]["deaths"])] == [3, 4, 5, 6, 7]


def test_each_figure_is_told_with_the_report_that_gave_it() -> None:
    """「据山西日报…报道，事件已致 12 人死亡、2 人失联、8 人被困」 (the demo): the 8 trapped were a
    local site's earlier report, not the paper's. Figures of one report go together, the newest
    report first; an older report's figures say 此前, one of the same minute 另."""
    from yuqing.documents.account import Figure, casualty_sentence

    paper = datetime(2026, 12, 3, 2, 40, tzinfo=SHANGHAI)
    local = datetime(2026, 12, 3, 2, 17, tzinfo=SHANGHAI)
    figures = {"deaths": Figure("deaths", "死亡", 12, "山西日报", "provincial", paper),
               "missing": Figure("missing", "失联", 2, "山西日报", "provincial", paper),
               "trapped": Figure("trapped", "被困", 8, "晋城新闻网", "local", local)}
    assert casualty_sentence(figures, "Asia/Shanghai") == (
        "据山西日报（省级媒体）12月3日2时40分报道，事件已致 12 人死亡、2 人失联，"
        "此前据晋城新闻网（地方媒体）12月3日2时17分报道，8 人被困")
    figures["trapped"].at = paper
    assert casualty_sentence(figures, "Asia/Shanghai").endswith("，另据晋城新闻网（地方媒体）12月3日2时40分报道，8 人被困")
    assert casualty_sentence({}, "Asia/Shanghai") == ""

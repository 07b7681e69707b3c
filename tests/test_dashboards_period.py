"""半年、全年回应关切统计 (`yuqing report period`): figures from the store, the index with the
profile's weights stated, DOCX and PDF in the 公文 layout, clear errors for bad dates."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from documents_story import docx_table_faults, toll_story
from docx import Document
from sqlalchemy import select

from yuqing.dashboards.period import compose, gather, index_score, parse_day, write_period
from yuqing.dashboards.reports import ReportError
from yuqing.documents.docx_writer import write_docx
from yuqing.documents.keep import unjoined
from yuqing.documents.wording import machine_text
from yuqing.models import Deadline, Event, Item, TicketResponse

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def story(runtime):  # type: ignore[no-untyped-def]
    runtime.clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=SHANGHAI))
    ids = toll_story(runtime)
    with runtime.session() as s:  # the 5-hour clock met on time by a press release
        info = s.scalars(select(Deadline).where(Deadline.ticket_id == ids["flood_ticket"],
                                                Deadline.kind == "authoritative_info")).one()
        info.met_at = info.due_at - timedelta(hours=1)
        s.add(TicketResponse(ticket_id=ids["flood_ticket"], kind="authoritative_info", channel="权威发布",
                             text="县应急管理局通报：巴公镇煤矿透水事故救援进展及伤亡情况，正全力搜救失联人员。",
                             responded_at=info.met_at, recorded_by="monitor", recorded_at=info.met_at))
    return ids


def test_period_statistics_from_the_store(runtime, story) -> None:  # type: ignore[no-untyped-def]
    st = gather(runtime, date(2026, 7, 1), date(2026, 12, 31))
    with runtime.session() as s:
        events = s.scalars(select(Event)).all()
    assert st.events == len(events) == 3
    assert st.by_level == {"重大": 1, "较大": 2}
    assert st.by_category["事故灾难"] == 1  # the coal-mine flooding
    assert st.on_time["发布权威信息"] == (1, 2)  # flood's met; the rain event's 5-hour clock breached
    assert st.first_response == [pytest.approx(4.0)]  # detected at 14:00, answered 1 h before its 5 h clock
    with runtime.session() as s:
        assert sum(st.by_tier.values()) == s.query(Item).count()
    weights = runtime.profile.documents.index_weights
    assert sum(weights.values()) == 100 and 0 < index_score(st, weights) < 100
    assert st.index["timeliness"] == pytest.approx((1 + 0) / 2)  # flood: its one due clock on time; rain: breached


def test_referrals_are_counted_once_per_department_under_its_name(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """The seed referred 宣传部 as 县委宣传部, the story as 中共泽州县委宣传部: one department, one row."""
    from yuqing.models import Referral

    st = gather(runtime, date(2026, 7, 1), date(2026, 12, 31))
    with runtime.session() as s:
        refs = s.scalars(select(Referral)).all()
    names = {d.key: d.name for d in runtime.profile.departments}
    assert len({r.department_name for r in refs if r.department_key == "propaganda"}) == 2  # the case itself
    assert set(st.referrals) == {names[r.department_key] for r in refs}
    assert len(st.referrals[names["propaganda"]]) == sum(r.department_key == "propaganda" for r in refs)


def test_period_document_states_the_weights_and_reads_as_a_document(runtime, story) -> None:  # type: ignore[no-untyped-def]
    doc = compose(runtime, gather(runtime, date(2026, 7, 1), date(2026, 12, 31)))
    d = Document(io.BytesIO(write_docx(doc)))
    text = unjoined("\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells]))
    assert "2026年7月1日至2026年12月31日政务舆情回应关切情况统计报告" in text
    assert "回应关切指数" in text and "时效" in text and "30" in text and "计分规则" in text
    assert (round(d.sections[0].page_width / 36000), round(d.sections[0].top_margin / 36000)) == (210, 37)
    with runtime.session() as s:
        quoted = [x for row in s.execute(select(Item.title, Item.text)).all() for x in row if x]
        quoted += [e.title for e in s.scalars(select(Event))]
    assert machine_text(text, quoted) == []
    assert docx_table_faults(write_docx(doc)) == []  # columns at their widths, whole rows, header repeated


@pytest.mark.slow
def test_report_period_writes_docx_and_pdf(runtime, story) -> None:  # type: ignore[no-untyped-def]
    paths = write_period(runtime, date(2026, 7, 1), date(2026, 12, 31))
    assert [p.rsplit(".", 1)[1] for p in paths] == ["docx", "pdf"]
    assert paths[0].endswith("泽州县应急管理局回应关切统计〔2026〕第1期.docx")
    text = subprocess.run(["pdftotext", paths[1], "-"], capture_output=True, text=True, check=True).stdout
    assert "回应关切指数" in text and "部门协同" in text


def test_a_short_table_stays_with_its_heading_and_lead(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """The 指数构成 table sat alone on page 3, its heading and lead paragraph at the foot of page 2:
    each page of the PDF that holds a table's caption holds its heading and lead too, and no page
    ends on a heading; in the DOCX the lead is kept with the table's caption."""
    paths = write_period(runtime, date(2026, 7, 1), date(2026, 12, 31))
    pages = subprocess.run(["pdftotext", paths[1], "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    page = next(p for p in pages if "回应关切指数构成" in p).replace("\n", "")
    assert "五、回应关切指数" in page and "各项权重与得分如下" in page
    for p in pages:
        lines = [ln.strip() for ln in p.splitlines() if ln.strip() and not re.fullmatch(r"— ?\d+ ?—", ln.strip())]
        assert not lines or not re.match(r"[一二三四五六七八九十]+、", lines[-1]), lines[-1]
    paragraphs = Document(paths[0]).paragraphs
    lead = next(n for n, p in enumerate(paragraphs) if "各项权重与得分如下" in unjoined(p.text))
    assert paragraphs[lead].paragraph_format.keep_with_next
    assert "回应关切指数构成" in paragraphs[lead + 1].text and paragraphs[lead + 1].paragraph_format.keep_with_next


def test_bad_dates_are_clear_errors() -> None:
    assert parse_day("2026年7月1日", "--from") == date(2026, 7, 1)
    with pytest.raises(ReportError, match=r"^--to 日期无效：'2026-13-01'，应为 2026-07-01 或 2026年7月1日 这样的日期$"):
        parse_day("2026-13-01", "--to")


def test_due_periods_follow_the_plans_deadlines() -> None:
    from yuqing.dashboards.period import due_period

    assert due_period(date(2026, 7, 1)) == (date(2026, 1, 1), date(2026, 6, 30), "2026年7月10日")
    assert due_period(date(2027, 1, 10)) == (date(2026, 1, 1), date(2026, 12, 31), "2027年1月10日")
    assert due_period(date(2026, 7, 11)) is None and due_period(date(2026, 12, 1)) is None


@pytest.mark.slow
def test_the_annual_draft_is_made_once_and_the_office_reminded(runtime, story, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    from yuqing.dashboards.period import draft_due

    runtime.clock.set(datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI))
    paths = draft_due()
    assert [p.rsplit(".", 1)[1] for p in paths] == ["docx", "pdf"]
    assert draft_due() == []  # once
    drain()
    msg = smtp.wait_for(1)[0]
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(msg["Subject"]))) == (
        "【待报送】2026年全年政务舆情回应关切情况统计（请于2027年1月10日前审核报送）")
    assert msg["X-Envelope-To"] == "bgs@yjj.zezhou.example"
    names = [p.get_filename() for p in msg.walk() if p.get_filename()]
    assert "泽州县应急管理局回应关切统计〔2027〕第1期.docx" in names


def test_the_period_page_refuses_bad_dates_in_chinese(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from dashboard_seed import seed_users
    from fastapi.testclient import TestClient
    from test_dashboards_app import login

    from yuqing.dashboards.app import create_app
    from yuqing.dashboards.routes.period import presets

    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "leader")
        backwards = client.get("/leader/period?from=2026-07-01&to=2026-01-01")
        assert backwards.status_code == 400 and "截止日期（2026-01-01）早于起始日期（2026-07-01）" in backwards.text
        wrong = client.get("/leader/period?from=2026-13-01&to=2026-12-31")
        assert wrong.status_code == 400 and "起始日期 日期无效" in wrong.text
        assert "Traceback" not in wrong.text
        assert client.get("/leader/period").status_code == 200
    labels = [p[0] for p in presets(date(2026, 12, 1))]
    assert labels[:3] == ["2026年上半年", "2026年下半年", "2026年全年"] and "2025年下半年" in labels
    assert [p[0] for p in presets(date(2026, 3, 1))][0] == "2026年上半年"


@pytest.mark.slow
def test_unchanged_statistics_keep_their_number_and_changed_ones_take_the_next(runtime, story) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import unquote

    from dashboard_seed import seed_users
    from fastapi.testclient import TestClient
    from test_dashboards_app import login

    from yuqing.dashboards.app import create_app
    from yuqing.models import IssuedDocument

    span = (date(2026, 7, 1), date(2026, 12, 31))
    first = write_period(runtime, *span)  # `yuqing report period` calls this very function
    assert first[0].endswith("回应关切统计〔2026〕第1期.docx")
    runtime.clock.advance(seconds=30)  # nothing falls due in half a minute: the same statistics
    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "leader")

        def download(fmt: str) -> str:
            r = client.post(f"/leader/period.{fmt}", data={"from": "2026-07-01", "to": "2026-12-31", "csrf_token": token})
            assert r.status_code == 200, r.text
            return unquote(r.headers["content-disposition"].split("''", 1)[1])

        assert download("docx") == "泽州县应急管理局回应关切统计〔2026〕第1期.docx"
        assert download("pdf") == "泽州县应急管理局回应关切统计〔2026〕第1期.pdf"
        with runtime.session() as s:  # a follow-up release changes the statistics
            s.add(TicketResponse(ticket_id=story["flood_ticket"], kind="follow_up", channel="权威发布",
                                 text="县应急管理局发布巴公镇煤矿透水事故救援第二次通报，失联人员已全部找到。",
                                 responded_at=runtime.now(), recorded_by="monitor", recorded_at=runtime.now()))
        assert download("docx") == "泽州县应急管理局回应关切统计〔2026〕第2期.docx"
        assert download("docx") == "泽州县应急管理局回应关切统计〔2026〕第2期.docx"
    assert write_period(runtime, *span)[0].endswith("第2期.docx")
    assert write_period(runtime, date(2026, 1, 1), date(2026, 12, 31))[0].endswith("第3期.docx")  # another span
    with runtime.session() as s:
        assert [r.number for r in s.scalars(select(IssuedDocument).where(IssuedDocument.kind == "period")
                                                .order_by(IssuedDocument.number))] == [1, 2, 3]


def test_without_chromium_the_docx_downloads_and_the_draft_still_goes(runtime, story, drain, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A DOCX download does not print the PDF (nor fail on it), and the half-year draft reaches
    the office as DOCX alone rather than not at all."""
    from dashboard_seed import seed_users
    from fastapi.testclient import TestClient
    from test_dashboards_app import login

    from yuqing.dashboards import period
    from yuqing.dashboards.app import create_app
    from yuqing.documents.pdf import PdfError

    def no_chromium(doc):  # type: ignore[no-untyped-def]
        raise PdfError("未找到 chromium")

    monkeypatch.setattr(period, "write_pdf", no_chromium)
    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "leader")
        span = {"from": "2026-07-01", "to": "2026-12-31", "csrf_token": token}
        docx = client.post("/leader/period.docx", data=span)
        assert docx.status_code == 200 and docx.content[:2] == b"PK"
        pdf = client.post("/leader/period.pdf", data=span)
        assert pdf.status_code == 503 and "未找到 chromium" in pdf.text
    runtime.clock.set(datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI))
    paths = period.draft_due()
    assert [p.rsplit(".", 1)[1] for p in paths] == ["docx"]
    drain()
    names = [p.get_filename() for p in smtp.wait_for(1)[0].walk() if p.get_filename()]
    assert names == ["泽州县应急管理局回应关切统计〔2027〕第1期.docx"]


def test_a_get_or_a_post_without_the_token_numbers_nothing(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """Issuing takes a 期号: a link from another site (a GET, or a POST without the session's
    CSRF token) only shows the page; the page's buttons post the span with the token."""
    from dashboard_seed import seed_users
    from fastapi.testclient import TestClient
    from test_dashboards_app import login

    from yuqing.dashboards.app import create_app
    from yuqing.models import IssuedDocument

    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        token = login(client, "leader")
        for fmt in ("docx", "pdf"):
            r = client.get(f"/leader/period.{fmt}?from=2026-07-01&to=2026-12-31")
            assert r.status_code == 303 and r.headers["location"] == "/leader/period?from=2026-07-01&to=2026-12-31"
            forged = client.post(f"/leader/period.{fmt}", data={"from": "2026-07-01", "to": "2026-12-31"})
            assert forged.status_code == 403
        with runtime.session() as s:
            assert s.scalar(select(IssuedDocument).where(IssuedDocument.kind == "period")) is None
        page = client.get("/leader/period?from=2026-07-01&to=2026-12-31").text
        form = page[page.index('action="/leader/period.docx"'):]
        form = form[:form.index("</form>")]
        assert f'value="{token}"' in form and 'name="from" value="2026-07-01"' in form
        assert 'name="to" value="2026-12-31"' in form and 'id="period-docx"' in form
        backwards = client.post("/leader/period.docx", data={"from": "2026-07-01", "to": "2026-01-01", "csrf_token": token})
        assert backwards.status_code == 400 and "早于起始日期" in backwards.text


def test_the_period_page_says_what_the_document_says(runtime, story) -> None:  # type: ignore[no-untyped-def]
    """/leader/period and the document it issues read alike: the same sentences on response
    times and spread, the departments with their 签收用时, durations in words (「4 小时」, never
    「4 小时 0 分」), and no bare 「90%：」 label."""
    from dashboard_seed import seed_users
    from fastapi.testclient import TestClient
    from test_dashboards_app import login

    from yuqing.dashboards.app import create_app

    doc = compose(runtime, gather(runtime, date(2026, 7, 1), date(2026, 12, 31)))
    paragraphs = [b.text for b in doc.blocks if hasattr(b, "parts")]
    timeliness = next(p for p in paragraphs if p.startswith("自发现至首次回应"))
    spread = next(p for p in paragraphs if p.startswith("涉及地点"))
    assert "4 小时" in timeliness and "小时 0 分" not in timeliness
    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as client:
        login(client, "leader")
        page = client.get("/leader/period?from=2026-07-01&to=2026-12-31").text
    assert timeliness in page and spread in page
    assert "签收用时（中位数）" in page and "90%：" not in page and "95%：" not in page
    assert "小时 0 分" not in page and not re.search(r"\d 分(?!钟)", page)


def test_a_period_without_responses_says_so_in_words() -> None:
    """「中位数 无数据，90% 的工单在 无数据内」 read as a form left blank: with nothing to measure,
    the statistics say what there is not."""
    from yuqing.dashboards.period import PeriodStats, timeliness_text

    st = PeriodStats(start=datetime(2026, 7, 1, tzinfo=SHANGHAI), end=datetime(2027, 1, 1, tzinfo=SHANGHAI))
    assert timeliness_text(st) == "本期尚无已回应的工单，无法统计回应用时。本期事件均无可核实的首发时间，无法统计发现滞后。"
    st.first_response, st.detection_lag = [4.0], [0.5, 1.0]
    assert timeliness_text(st) == ("自发现至首次回应：中位数 4 小时，90% 的工单在 4 小时内。"
                                   "自首条信息发布至系统发现：中位数 30 分钟，95% 的事件在 1 小时内。")

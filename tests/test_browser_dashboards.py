"""The web app in a real browser: Debian's headless Chromium driven by Playwright against the
real uvicorn server on a loopback port. Screenshots of the main pages go to
tests/artifacts/screenshots/ (gitignored) for the README."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from dashboard_seed import HOSTILE, PASSWORD
from servers import free_port
from sqlalchemy import select

from yuqing.dashboards.app import create_app
from yuqing.models import Alert, Event, Referral, Ticket

# Chromium's print of the 专报, 续报 and response report stood in for (tests/conftest.py): the
# downloads here are checked for what the server serves; the printed text is read in
# test_dashboards_liaison.py and test_dashboards_reports.py.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("print_stand_in")]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parent / "artifacts" / "screenshots"


class Server:
    """uvicorn serving create_app(runtime) in a thread, so the test's manual clock drives it."""

    def __init__(self, runtime) -> None:  # type: ignore[no-untyped-def]
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def server(runtime, story) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    srv = Server(runtime).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per module (a launch costs seconds on the 2-core machine); every test gets
    its own browser context, so no cookie, storage or page is shared between tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page_for(browser, server):  # type: ignore[no-untyped-def]
    """A signed-in page for a user; alert()/confirm() dialogs are recorded (and accepted)."""
    contexts = []

    def make(username: str):  # type: ignore[no-untyped-def]
        ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.dialogs = []

        def on_dialog(d):  # type: ignore[no-untyped-def]
            page.dialogs.append((d.type, d.message))
            d.accept()

        page.on("dialog", on_dialog)
        page.goto(server.url + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_monitor_reviews_opens_a_ticket_responds_closes_and_downloads_the_report(
        runtime, story, server, page_for, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    assert page.url == server.url + "/"
    assert page.locator("article[data-alert]").count() == 3
    shot(page, "console")

    # dismiss the hill-fire alert as irrelevant (a training label)
    page.locator(f"#alert-{story['alert_fire']} button[data-key=x]").click()
    page.wait_for_load_state()
    assert "已排除（误报/无关）" in page.locator(".flash").inner_text()
    with runtime.session() as s:
        assert s.get(Alert, story["alert_fire"]).status == "dismissed"

    # keyboard: j selects the first (major) alert, t opens its ticket
    page.keyboard.press("j")
    assert "selected" in page.locator(f"#alert-{story['alert_flood']}").get_attribute("class")
    page.keyboard.press("t")
    page.wait_for_url("**/tickets/*")
    with runtime.session() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.event_id == story["flood"]))
    assert page.url.endswith(f"/tickets/{ticket_id}")

    # record the first response
    form = page.locator("#respond-form")
    form.locator("select[name=kind]").select_option("authoritative_info")
    form.locator("select[name=channel]").select_option("政务微博")
    form.locator("input[name=link]").fill("https://weibo.example/zezhou-yjj/1")
    form.locator("textarea[name=text]").fill("县应急管理局：救援正在全力进行，被困人员家属已妥善安置。")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "已记录回应" in page.locator(".flash").inner_text()
    assert page.locator("#ticket-state").inner_text() == "已回应"
    assert "县应急管理局：救援正在全力进行" in page.locator("ol.timeline").inner_text()
    shot(page, "ticket")

    # three quiet days later the ticket may close (cool-down); the button asks first
    runtime.clock.advance(hours=73)
    page.reload()
    assert "/login?next=" in page.url, "a 12-hour session has ended after three days"
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/tickets/{ticket_id}")
    page.locator("#close-form textarea").fill("救援结束，情况已通报，舆情平息。")
    page.locator("#close-form button").click()
    page.wait_for_load_state()
    assert ("confirm", "确定关闭该工单？") in page.dialogs
    assert page.locator("#ticket-state").inner_text() == "已关闭"

    for fmt, magic in (("pdf", b"%PDF"), ("docx", b"PK")):
        with page.expect_download() as info:
            page.click(f"#report-{fmt}")
        path = tmp_path / f"report.{fmt}"
        info.value.save_as(str(path))
        assert path.read_bytes().startswith(magic)
        assert info.value.suggested_filename == f"事后回应报告-工单{ticket_id}.{fmt}"
    report = page.context.new_page()
    report.goto(f"{server.url}/tickets/{ticket_id}/report.html")
    assert "救援结束，情况已通报，舆情平息。" in report.content()
    shot(report, "report")

    for path, name in (("/tickets", "tickets"), (f"/events/{story['flood']}", "event")):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        shot(page, name)
    assert page.locator(".chart-box canvas").count() == 4, "ECharts drew the four charts from /static"


def test_crawled_script_renders_as_text(story, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.reload()
    assert page.get_by_text('<script>alert("xss")</script>', exact=False).count() >= 1
    assert page.dialogs == [], "no script from a crawled post ran"
    assert page.locator("main script").count() == 0 and page.locator("img[src=x]").count() == 0
    assert HOSTILE not in page.content()


def test_liaison_acknowledges_a_referral_and_the_public_link_works(runtime, story, server, page_for,
                                                                   browser) -> None:  # type: ignore[no-untyped-def]
    page = page_for("xcb")
    assert page.url == server.url + "/liaison"
    cards = page.locator("article.referral")
    assert cards.count() == 1, "only the 宣传部's referral is listed"
    shot(page, "liaison")
    card = page.locator(f"#referral-{story['referral']}")
    card.locator("input[name=note]").fill("已安排发布")
    card.locator("button.primary").click()
    page.wait_for_load_state()
    assert "已签收报送" in page.locator(".flash").inner_text()
    card = page.locator(f"#referral-{story['referral']}")
    card.locator("input[name=text]").fill("新闻稿已审定")
    card.locator("button", has_text="添加备注").click()
    page.wait_for_load_state()
    assert "新闻稿已审定" in page.locator(f"#referral-{story['referral']} ul.notes").inner_text()

    # the 网信办 signs through the e-mailed link, without an account
    from yuqing.queue.referrals import ack_url

    link = urlsplit(ack_url(runtime, story["referral_other"]))
    anon = browser.new_context().new_page()
    anon.goto(f"{server.url}{link.path}?{link.query}" if link.query else f"{server.url}{link.path}")
    anon.fill("input[name=name]", "网信办 王五")
    anon.click("button.primary")
    anon.wait_for_load_state()
    assert "已签收" in anon.locator("#ack-done").inner_text()
    with runtime.session() as s:
        ref = s.get(Referral, story["referral"])
        other = s.get(Referral, story["referral_other"])
        assert ref.acknowledged_by == "xcb" and other.acknowledged_at is not None
        assert "网信办 王五" in other.acknowledged_by


def test_monitor_cannot_reach_admin_pages(server, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    assert page.locator("a[href='/admin']").count() == 0
    response = page.goto(server.url + "/admin")
    assert response.status == 403
    assert "无权访问" in page.locator("h1").inner_text()


def test_leader_and_admin_pages(server, page_for) -> None:  # type: ignore[no-untyped-def]
    leader = page_for("leader")
    assert leader.url == server.url + "/leader"
    assert leader.locator("#kpi-breaches").inner_text() == "1"
    shot(leader, "leader")
    admin = page_for("admin")
    assert admin.url == server.url + "/admin"
    assert "城区论坛" in admin.locator("#sources tr.red").inner_text()
    shot(admin, "admin")


# ---- the monitor's desk: clocks, order, filters, bulk, judgement, live updates, phone ----

def _card(page, alert_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#alert-{alert_id}")


def test_cards_show_running_clocks_in_urgency_order(runtime, story, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    with runtime.session() as s:
        old = s.scalar(select(Alert.id).where(Alert.event_id == story["old"]))
    order = page.locator("article[data-alert]").evaluate_all("els => els.map(e => Number(e.dataset.alert))")
    assert order[:3] == [story["alert_flood"], old, story["alert_fire"]]
    clocks = _card(page, old).locator(".clock")
    assert clocks.count() == 2
    breached = _card(page, old).locator(".clock.breached")
    assert "发布权威信息" in breached.inner_text() and "已超时 1 天 15 小时" in breached.inner_text()
    first = _card(page, old).locator(".clock:not(.breached)")
    assert "首次回应" in first.inner_text()
    assert any(t in first.inner_text() for t in ("剩余 4 小时", "剩余 3 小时 59 分钟"))  # it ticks
    assert " 0 分" not in first.inner_text() and not re.search(r"\d 分(?!钟)", first.inner_text())


def test_filters_search_and_bulk_confirm(runtime, story, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    page.select_option("#filters select[name=level]", "重大")
    visible = page.locator("article[data-alert]:visible")
    assert visible.count() == 1 and visible.first.get_attribute("data-alert") == str(story["alert_flood"])
    assert page.locator("#shown").inner_text() == "显示 1 / 3 条"
    page.select_option("#filters select[name=level]", "")
    page.fill("#filters input[name=q]", "山火")
    assert page.locator("article[data-alert]:visible").count() == 1
    page.fill("#filters input[name=q]", "")
    page.select_option("#filters select[name=tier]", "social")
    assert page.locator("article[data-alert]:visible").count() >= 1
    page.select_option("#filters select[name=tier]", "")
    for alert in (story["alert_flood"], story["alert_fire"]):
        _card(page, alert).locator("input[name=ids]").check()
    runtime.clock.advance(minutes=1)  # a person's action takes a moment
    page.click("#bulk button[value=confirm]")
    page.wait_for_load_state()
    assert "已批量确认属实 2 条预警" in page.locator(".flash").inner_text()
    with runtime.session() as s:
        assert {s.get(Alert, a).status for a in (story["alert_flood"], story["alert_fire"])} == {"confirmed"}
    assert "已确认属实" in _card(page, story["alert_fire"]).inner_text()
    assert _card(page, story["alert_fire"]).locator("button[data-key=c]").count() == 0


def test_level_set_on_the_card_starts_the_clocks(runtime, story, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("monitor")
    runtime.clock.advance(minutes=1)
    card = _card(page, story["alert_fire"])
    card.locator("select[name=level]").select_option("重大")
    card.locator(".level-form button").click()
    page.wait_for_load_state()
    card = _card(page, story["alert_fire"])
    assert "人工研判：monitor" in card.inner_text()
    assert "发布权威信息" in card.locator(".clocks").inner_text()
    assert card.locator(".level").inner_text() == "重大"
    with runtime.session() as s:
        assert s.scalar(select(Ticket.level).where(Ticket.event_id == story["fire"])) == "重大"


def test_a_new_major_alert_arrives_without_a_reload_and_notifies(runtime, story, browser, server) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.grant_permissions(["notifications"], origin=server.url)
    ctx.add_init_script("localStorage.setItem('yuqing-poll-ms', '300');"
                        "window.__shown = []; window.Notification = class { constructor(t, o) {"
                        " window.__shown.push(t + '|' + o.body); } static get permission() { return 'granted'; } };")
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.evaluate("window.__stay = 'same page'")
    runtime.clock.advance(minutes=1)
    now = runtime.now()
    with runtime.session() as s:
        event = Event(title="巴公镇化工厂爆炸", first_seen_at=now, last_seen_at=now, level="重大", updated_at=now)
        s.add(event)
        s.flush()
        alert = Alert(event_id=event.id, level="重大", title=event.title, created_at=now, updated_at=now,
                      reasons=["伤亡：死亡 12 人（重大）"])
        s.add(alert)
        s.flush()
        alert_id = alert.id
    page.wait_for_selector(f"#alert-{alert_id}", timeout=10_000)
    assert page.evaluate("window.__stay") == "same page", "the cards were swapped in, the page not reloaded"
    page.wait_for_function("window.__shown.length > 0", timeout=5_000)
    assert page.evaluate("window.__shown") == ["新的重大预警|巴公镇化工厂爆炸"]
    ctx.close()


def test_event_page_platforms_and_township_table(story, page_for) -> None:  # type: ignore[no-untyped-def]
    page = page_for("leader")
    page.goto(page.url.rsplit("/", 1)[0] + f"/events/{story['flood']}")
    assert "每 10 分钟条数" in page.content()
    rows = page.locator("table.places tbody tr")
    assert rows.count() >= 1
    assert "140525" in rows.first.inner_text() and "县（区）" in rows.first.inner_text()
    platforms = page.locator("figure[data-chart]").evaluate_all(
        "els => els.map(e => JSON.parse(e.dataset.chart)).filter(c => c.type === 'pie')[0].x")
    assert "未知" not in platforms and platforms


@pytest.mark.parametrize("who", ["monitor", "admin"])
def test_a_390_px_phone_holds_the_layout(browser, server, who: str) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for path in ("/", "/tickets", "/search"):
        page.goto(server.url + path)
        heights = page.locator("header.top nav a, header.top .who button").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height)")
        line = page.locator("header.top nav a").first.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
        assert max(heights) < line * 1.5, f"{path}: a navigation word broke over two lines ({heights})"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path}: the page is {width} px wide on a 390 px phone"
    ctx.close()


@pytest.mark.parametrize("width", [1360, 390])
def test_liaison_opens_a_referral_downloads_what_was_sent_and_signs(runtime, story, server, browser, drain, smtp,
                                                                    tmp_path, width: int) -> None:  # type: ignore[no-untyped-def]
    from factories import docx_attachments, make_referred_event

    refs = make_referred_event(runtime, drain)
    mine, theirs = refs["propaganda"], refs["cyberspace"]
    smtp.wait_for(4)
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                              accept_downloads=True)
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "xcb")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/liaison")
    page.locator(f"#referral-{mine.id} h2 a").click()
    page.wait_for_url(f"**/liaison/referrals/{mine.id}")
    head = page.locator(".page-head")
    assert "特别重大" in head.inner_text() and "中共泽州县委宣传部" in head.inner_text()
    assert page.locator("table.documents tbody tr").count() == 2, "the 专报 and the 续报"
    assert page.locator("ol.items li a").count() == 3, "the key posts, linked"
    assert page.locator("ul.clocks li.clock[data-due]").count() >= 1, "running clocks"
    assert "县应急管理局发布救援进展通报" in page.locator("ol.responses").inner_text()
    with page.expect_download() as got:
        page.locator("table.documents tbody tr").first.get_by_text("Word（DOCX）").click()
    saved = tmp_path / "sent.docx"
    got.value.save_as(saved)
    assert saved.read_bytes() == docx_attachments(smtp, "yqk@xcb.zezhou.example")[0]
    assert got.value.suggested_filename == "泽州县应急管理局舆情专报〔2026〕第1期.docx"
    with page.expect_download() as got:
        page.locator("table.documents tbody tr").nth(1).get_by_text("PDF").click()
    got.value.save_as(tmp_path / "followup.pdf")
    assert (tmp_path / "followup.pdf").read_bytes().startswith(b"%PDF")
    width_now = page.evaluate("document.documentElement.scrollWidth")
    assert width_now <= width, f"the page is {width_now} px wide at {width} px"
    shot(page, f"liaison-referral-{width}")
    page.locator("input[name=note]").fill("已安排发布")
    page.get_by_role("button", name="签收").click()
    page.wait_for_url(f"**/liaison/referrals/{mine.id}")
    assert "由 xcb 签收" in page.locator("#ack-state").inner_text()
    response = page.goto(f"{server.url}/liaison/referrals/{theirs.id}")
    assert response is not None and response.status == 404, "the 网信办's referral is not the 宣传部's to see"
    ctx.close()


@pytest.mark.parametrize("width", [1360, 390])
def test_leader_chooses_a_period_sees_the_index_and_downloads_it(server, browser, tmp_path, width: int) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                              accept_downloads=True)
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(server.url + "/leader")
    page.click("#to-period")
    presets = page.locator(".presets a")
    assert presets.count() >= 3 and "上半年" in presets.first.inner_text()
    page.fill("input[name=from]", "2026-01-01")
    page.fill("input[name=to]", "2026-12-31")
    page.click(".period-form button[type=submit]")
    page.wait_for_load_state()
    assert "统计时段：2026年1月1日至2026年12月31日" in page.inner_text(".page-head")
    assert int(page.inner_text("#period-events")) >= 1, "the seeded day's events are in 2026"
    assert page.locator("#period-components tr").count() == 8  # header + seven weighted components
    assert "时效" in page.inner_text("#period-components")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page holds its width"
    for fmt, magic in (("docx", b"PK"), ("pdf", b"%PDF")):
        with page.expect_download() as info:
            page.click(f"#period-{fmt}")
        path = tmp_path / f"period.{fmt}"
        info.value.save_as(str(path))
        assert path.read_bytes().startswith(magic)
        assert info.value.suggested_filename.endswith(f".{fmt}") and "统计" in info.value.suggested_filename
    ctx.close()

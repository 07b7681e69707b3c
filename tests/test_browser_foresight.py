"""事前研判 in a real browser: the office fills the draft form, reads the assessment and
downloads the 解读回应预案 (real uvicorn, headless Chromium)."""

from __future__ import annotations

import pytest
from foresight_seed import seed
from test_browser_dashboards import browser, page_for, server, shot  # noqa: F401 - fixtures (story: conftest)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_office_enters_a_draft_in_the_browser(runtime, page_for, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    seed(runtime)
    page = page_for("monitor")
    page.click("text=事前研判")
    page.fill("input[name=title]", "关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）")
    page.fill("textarea[name=text]", "县政府拟对城东片区房屋实施征收拆迁。\n被征收房屋的补偿标准按照评估机构评估的市场价格确定。")
    page.fill("input[name=affected]", "城东片区约1200户居民；临街商户")
    page.fill("input[name=date]", "2026-12-15")
    page.click("#draft-form button")
    page.wait_for_load_state()
    assert "已完成风险评估 #1 第 1 稿" in page.locator(".flash").inner_text()
    assert page.locator("#grade").inner_text() in ("较高", "高")
    assert "补偿标准是否公平" in page.content()
    shot(page, "foresight")
    with page.expect_download() as dl:
        page.click("#plan-1")
    saved = tmp_path / "plan.docx"
    dl.value.save_as(str(saved))
    assert saved.read_bytes()[:2] == b"PK"

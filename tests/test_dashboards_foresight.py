"""事前研判 pages: the office enters a draft, reads its assessment, downloads the 预案, submits the
next draft and marks the final plan; bad drafts are refused with the reason; roles hold."""

from __future__ import annotations

import io
import re

import pytest
from dashboard_seed import seed_users
from docx import Document
from fastapi.testclient import TestClient
from foresight_seed import seed
from test_dashboards_app import login

from yuqing.dashboards.app import create_app
from yuqing.documents.keep import unjoined

FORM = {"title": "关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）",
        "text": "县政府拟对城东片区房屋实施征收拆迁。\n被征收房屋的补偿标准按照评估机构评估的市场价格确定。",
        "affected": "城东片区约1200户居民；临街商户", "date": "2026-12-15", "channel": "政府网站"}


@pytest.fixture
def client(runtime):  # type: ignore[no-untyped-def]
    seed_users(runtime)
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def test_office_enters_a_draft_and_gets_the_assessment_and_plan(runtime, client) -> None:  # type: ignore[no-untyped-def]
    events = seed(runtime)
    token = login(client, "monitor")
    page = client.get("/foresight")
    assert page.status_code == 200 and 'id="draft-form"' in page.text and "尚无风险评估" in page.text
    r = client.post("/foresight", data={**FORM, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/foresight/1"
    page = client.get("/foresight/1")
    assert page.status_code == 200
    assert f'href="/events/{events["demolition"]}"' in page.text
    assert "补偿标准是否公平" in page.text and "第 1 稿" in page.text
    assert re.search(r'id="grade">(较高|高)<', page.text)
    plan = client.get("/foresight/1/plan/1")
    assert plan.status_code == 200
    assert plan.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = unjoined("\n".join(p.text for p in Document(io.BytesIO(plan.content)).paragraphs))
    assert "关于《关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）》的舆情风险评估及解读回应预案" in text.split("\n")

    second = {**FORM, "text": FORM["text"] + "\n征收补偿方案公示30日。", "assessment_id": "1", "csrf_token": token}
    assert client.post("/foresight", data=second).status_code == 303
    page = client.get("/foresight/1")
    assert "新增正文第3段「征收补偿方案公示30日。」" in page.text
    r = client.post("/foresight/1/final", data={"revision": "1", "csrf_token": token})
    assert r.status_code == 303
    page = client.get("/foresight/1")
    assert "第 1 稿（定稿）" in page.text and 'id="final-form"' not in page.text
    assert "monitor 于" in page.text


@pytest.mark.parametrize(("fields", "message"), [
    ({"text": ""}, "草案正文为空"),
    ({"text": "From January the city will charge parking fees.", "title": "Parking fees"}, "草案不是中文"),
    ({"date": "明年"}, "字段 date（出台日期）应为 2026-12-15 或 2026年12月15日"),
    ({"assessment_id": "abc"}, "assessment_id: 评估编号应为正整数"),
    ({"assessment_id": "7"}, "没有编号为 7 的风险评估"),
])
def test_bad_drafts_are_refused_with_the_reason(runtime, client, fields, message) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "monitor")
    r = client.post("/foresight", data={**FORM, **fields, "csrf_token": token})
    assert r.status_code in (404, 409, 422)
    assert message in r.text and "Traceback" not in r.text


def test_roles_on_the_foresight_pages(runtime, client) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "leader")
    assert client.get("/foresight").status_code == 200
    assert 'id="draft-form"' not in client.get("/foresight").text
    assert client.post("/foresight", data={**FORM, "csrf_token": token}).status_code == 403
    client.cookies.clear()
    login(client, "xcb")
    assert client.get("/foresight").status_code == 403

"""The liaison's page for one referral: the event's account, the 专报 and 续报 sent to the
department (DOCX byte for byte as mailed, PDF printed from the page kept at issue), the key
posts, the ticket's clocks, the bureau's responses and the 签收 state; only the department's own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from dashboard_seed import PASSWORD
from factories import docx_attachments, make_referred_event
from fastapi.testclient import TestClient
from sqlalchemy import select

from yuqing.dashboards.app import create_app
from yuqing.models import AuditEntry, IssuedDocument

# Chromium's print stood in for, except in the test that reads the PDF (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("print_stand_in")


@pytest.fixture
def client(runtime, story) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c


def login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text


@pytest.mark.slow  # Chromium prints the 专报 and 续报 and one is read
def test_the_liaison_page_of_one_referral(runtime, client, drain, smtp, chromium_print) -> None:  # type: ignore[no-untyped-def]
    refs = make_referred_event(runtime, drain)
    smtp.wait_for(4)
    mine = refs["propaganda"]
    login(client, "xcb")  # 宣传部舆情科
    page = client.get(f"/liaison/referrals/{mine.id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "中共泽州县委宣传部" in html and "特别重大" in html
    assert "煤矿透水 报道0" in html, "the account's title (the provincial report)"
    assert html.count('class="download"') == 4, "专报 and 续报, each in DOCX and PDF"
    assert "专报</strong> 〔2026〕第 1 期" in html and "续报</strong>" in html
    assert "https://news.example/" in html, "the key posts link to their sources"
    assert "发布权威信息" in html and 'data-due="' in html, "the running clocks"
    assert "县应急管理局发布救援进展通报" in html, "what the bureau has published"
    assert "尚未签收" in html and f'action="/referrals/{mine.id}/ack?next=/liaison/referrals/{mine.id}"' in html
    for code in ("special", "followup", "authoritative_info", "routing", "propaganda"):
        assert f">{code}<" not in html and f" {code} " not in html

    with runtime.session() as s:
        docs = list(s.scalars(select(IssuedDocument).where(IssuedDocument.referral_id == mine.id)
                              .order_by(IssuedDocument.id)))
    assert [d.kind for d in docs] == ["special", "followup"]
    sent = docx_attachments(smtp, "yqk@xcb.zezhou.example")
    for doc, attached in zip(docs, sent, strict=True):
        got = client.get(f"/liaison/referrals/{mine.id}/documents/{doc.id}/docx")
        assert got.status_code == 200
        assert got.content == attached, "the DOCX as it was mailed"
        assert "attachment; filename*=UTF-8''" in got.headers["content-disposition"]
    pdf = client.get(f"/liaison/referrals/{mine.id}/documents/{docs[1].id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "（续报）" in text.replace("\n", "") and "中共泽州县委宣传部" in text
    with runtime.session() as s:
        actions = [a.detail for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "referral.download"))]
    assert {"document": docs[1].id, "format": "pdf"} in actions

    other = refs["cyberspace"]
    with runtime.session() as s:
        theirs = s.scalar(select(IssuedDocument.id).where(IssuedDocument.referral_id == other.id))
    assert client.get(f"/liaison/referrals/{other.id}").status_code == 404, "another department's: as if missing"
    assert client.get(f"/liaison/referrals/{other.id}/documents/{theirs}/docx").status_code == 404
    assert client.get(f"/liaison/referrals/{mine.id}/documents/{theirs}/docx").status_code == 404, \
        "their document through my referral"
    assert client.get(f"/liaison/referrals/{mine.id}/documents/{docs[0].id}/exe").status_code == 404


def test_signing_shows_on_the_page_and_the_list_links_to_it(runtime, client, drain) -> None:  # type: ignore[no-untyped-def]
    mine = make_referred_event(runtime, drain)["propaganda"]
    login(client, "xcb")
    assert f'href="/liaison/referrals/{mine.id}"' in client.get("/liaison").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get(f"/liaison/referrals/{mine.id}").text).group(1)
    r = client.post(f"/referrals/{mine.id}/ack?next=/liaison/referrals/{mine.id}",
                    data={"csrf_token": token, "note": "已安排发布"})
    assert r.status_code == 303 and r.headers["location"] == f"/liaison/referrals/{mine.id}"
    page = client.get(f"/liaison/referrals/{mine.id}").text
    state = re.search(r'id="ack-state">([^<]+)', page).group(1)
    assert re.fullmatch(r"已于 \S+ \S+ 由 xcb 签收", state), state
    assert "尚未签收" not in page

"""Channels in their real formats at a loopback receiver and a real SMTP server; retries with
back-off; at-most-once sending; size splitting; DingTalk signatures; secrets kept out of logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from factories import deliveries
from pydantic import SecretStr
from rq import Queue
from servers import serving

from yuqing.alerts import delivery
from yuqing.alerts.channels import get_channel
from yuqing.alerts.delivery import create_delivery
from yuqing.alerts.jobs import deliver, sweep_alerts
from yuqing.models import Delivery
from yuqing.profile import Channel


def _create(rt, channel: str, target: str, body: str = "泽州县某煤矿透水，3 人被困。", **kw) -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        row = create_delivery(s, purpose="alert", channel=channel, target=target, subject="【舆情预警·较大】测试",
                              body=body, key=kw.pop("key", f"test:{channel}:{target}:{len(body)}"), **kw)
        return row.id


def _row(rt, delivery_id: int) -> Delivery:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Delivery, delivery_id)


def test_email_has_plain_html_and_attachment(runtime, drain, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "专报.docx"
    report.write_bytes(b"PK fake docx")
    delivery_id = _create(runtime, "email", "zhiban@yjj.zezhou.example", html="<p><b>透水</b></p>",
                          attachments=[report])
    drain()
    msg = smtp.wait_for(1)[0]
    types = [p.get_content_type() for p in msg.walk()]
    assert {"text/plain", "text/html"} <= set(types)
    assert any(p.get_filename() == "专报.docx" for p in msg.walk())
    assert msg["X-Envelope-To"] == "zhiban@yjj.zezhou.example"
    row = _row(runtime, delivery_id)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at == runtime.now()


def test_email_plain_part_spells_out_the_markdown_and_html_links_the_alert(runtime, drain, smtp) -> None:  # type: ignore[no-untyped-def]
    from factories import make_event

    from yuqing.alerts.notify import compose
    from yuqing.models import Alert, Event, Item

    event_id = make_event(runtime, level="较大", items=2)
    with runtime.session() as s:
        alert = Alert(event_id=event_id, level="较大", title="透水", created_at=runtime.now(), updated_at=runtime.now(),
                      reasons=["伤亡：3 人被困"])
        s.add(alert)
        s.flush()
        subject, text, html = compose(runtime, alert, s.get(Event, event_id), list(s.query(Item)), "新预警")
        alert_id = alert.id
    link = f"http://127.0.0.1:8000/alerts/{alert_id}"
    assert f'<a href="{link}">' in html
    _create(runtime, "email", "zhiban@yjj.zezhou.example", body=text, html=html)
    drain()
    msg = smtp.wait_for(1)[0]
    plain = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "**" not in plain and "](" not in plain and "\n- " not in plain
    assert "等级：较大" in plain and f"确认与处理：{link}" in plain
    assert re.search(r"首次发现：\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}时\d{2}分", plain), plain  # a 公文 date
    from yuqing.documents.wording import machine_text

    with runtime.session() as s:
        quoted = [x for i in s.query(Item) for x in (i.title, i.text) if x] + [s.get(Event, event_id).title]
    assert machine_text(plain, quoted) == [], plain


def test_create_delivery_is_idempotent_by_key(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.session() as s:
        first = create_delivery(s, purpose="referral", channel="email", target="a@b.example", subject="x",
                                body="y", key="referral:1:propaganda")
        again = create_delivery(s, purpose="referral", channel="email", target="a@b.example", subject="x",
                                body="y", key="referral:1:propaganda")
        assert first is not None and again is None


def test_wecom_markdown_split_to_4096_bytes(runtime, drain, receiver) -> None:  # type: ignore[no-untyped-def]
    url = f"{receiver.url}/cgi-bin/webhook/send?key=WECOM-KEY-123"
    body = "\n".join(f"- 第{i}条：泽州县某煤矿透水事故相关报道，网民关注救援进展。" for i in range(200))
    delivery_id = _create(runtime, "wecom", url, body=body)
    drain()
    assert len(receiver.requests) >= 3
    for req in receiver.requests:
        data = req.json()
        assert data["msgtype"] == "markdown"
        assert len(data["markdown"]["content"].encode("utf-8")) <= 4096
        assert req.path.endswith("key=WECOM-KEY-123")
    joined = "".join(r.json()["markdown"]["content"] for r in receiver.requests)
    assert "第0条" in joined and "第199条" in joined and f"（{len(receiver.requests)}/{len(receiver.requests)}）" in joined
    row = _row(runtime, delivery_id)
    assert row.parts_sent == row.parts_total == len(receiver.requests)


def test_dingtalk_request_is_signed_and_the_receiver_verifies_it(runtime, drain, receiver) -> None:  # type: ignore[no-untyped-def]
    url = f"{receiver.url}/robot/send?access_token=DT-TOKEN"
    secret = "SEC0123456789abcdef"
    runtime.profile.alerts.channels = [Channel(type="dingtalk", to=url, secret=SecretStr(secret))]
    _create(runtime, "dingtalk", url)
    drain()
    [req] = receiver.requests
    query = parse_qs(urlsplit(req.path).query)
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    # parse_qs decoded the URL encoding once: what arrives is the base64 signature itself
    assert query["sign"][0] == expected
    data = req.json()
    assert data["msgtype"] == "markdown" and data["markdown"]["title"].startswith("【舆情预警")
    assert "3 人被困" in data["markdown"]["text"]


def test_retries_with_backoff_after_receiver_fails_twice(runtime, drain, receiver, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    url = f"{receiver.url}/hook?token=HOOK-SECRET-9"
    receiver.fail_next(2)
    delivery_id = _create(runtime, "webhook", url, callback="yuqing.queue.referrals.delivery_done")
    drain(("notify",))
    row = _row(runtime, delivery_id)
    assert (row.status, row.attempts) == ("pending", 1) and "HTTP 500" in row.last_error
    sweep_alerts()
    drain(("notify",))
    assert _row(runtime, delivery_id).attempts == 1, "back-off: not before its minute"
    runtime.clock.advance(minutes=1)
    sweep_alerts()
    drain(("notify",))
    assert _row(runtime, delivery_id).attempts == 2
    runtime.clock.advance(minutes=5)
    sweep_alerts()
    drain(("notify",))
    row = _row(runtime, delivery_id)
    assert (row.status, row.attempts) == ("sent", 3)
    [req] = receiver.requests
    assert req.headers["Idempotency-Key"] == f"{row.idempotency_key}#1"
    assert req.json()["text"] == row.body
    respond = Queue("respond", connection=runtime.redis).get_jobs()
    assert [(j.func_name, j.args) for j in respond] == [("yuqing.queue.referrals.delivery_done", (delivery_id,))]
    logged = caplog.text + row.last_error
    assert "HOOK-SECRET-9" not in logged
    assert "token=<secret>" in logged


def test_a_job_run_twice_or_at_once_sends_once(runtime, receiver) -> None:  # type: ignore[no-untyped-def]
    url = f"{receiver.url}/hook"
    delivery_id = _create(runtime, "webhook", url)
    assert deliver(delivery_id) == "sent"
    assert deliver(delivery_id) == "skipped"
    other = _create(runtime, "webhook", url, key="test:concurrent")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(deliver(other))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("sent") == 1
    assert len(receiver.requests) == 2


def test_resumed_delivery_skips_parts_already_sent(runtime, receiver) -> None:  # type: ignore[no-untyped-def]
    url = f"{receiver.url}/cgi-bin/webhook/send?key=K"
    body = "\n".join(f"第{i}行：" + "透水" * 40 for i in range(120))
    delivery_id = _create(runtime, "wecom", url, body=body)
    with runtime.session() as s:  # as if a worker died after sending two parts
        s.get(Delivery, delivery_id).parts_sent = 2
    assert deliver(delivery_id) == "sent"
    row = _row(runtime, delivery_id)
    assert len(receiver.requests) == row.parts_total - 2
    assert receiver.requests[0].json()["markdown"]["content"].startswith("（3/")


def test_a_send_of_slow_parts_keeps_its_lease(runtime, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each part takes four minutes: the five-minute lease is renewed before each, so the sweep's
    retry never claims the delivery mid-send and sends its parts a second time."""
    url = f"{receiver.url}/cgi-bin/webhook/send?key=K"
    body = "\n".join(f"第{i}行：" + "透水" * 40 for i in range(120))
    delivery_id = _create(runtime, "wecom", url, body=body)
    wecom = get_channel("wecom")
    real_send = wecom.send
    claimed_meanwhile: list[bool] = []

    def slow_send(target, message, settings):  # type: ignore[no-untyped-def]
        runtime.clock.advance(minutes=4)
        claimed_meanwhile.append(delivery._claim(runtime, delivery_id))  # the sweep's retry, now
        return real_send(target, message, settings)

    monkeypatch.setattr(wecom, "send", slow_send)
    assert deliver(delivery_id) == "sent"
    row = _row(runtime, delivery_id)
    assert row.parts_total >= 3 and len(receiver.requests) == row.parts_total
    assert claimed_meanwhile == [False] * row.parts_total


def test_a_run_whose_lease_was_taken_stops_before_its_next_part(runtime, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A part slower than the whole lease: another run claimed the delivery meanwhile, so this run
    sends no further part (the other run resumes from the parts already recorded)."""
    url = f"{receiver.url}/cgi-bin/webhook/send?key=K"
    body = "\n".join(f"第{i}行：" + "透水" * 40 for i in range(120))
    delivery_id = _create(runtime, "wecom", url, body=body)
    wecom = get_channel("wecom")
    real_send = wecom.send

    def stalled_send(target, message, settings):  # type: ignore[no-untyped-def]
        runtime.clock.advance(minutes=6)
        if message.part == 1:
            assert delivery._claim(runtime, delivery_id), "the lease ran out: another run may claim it"
        return real_send(target, message, settings)

    monkeypatch.setattr(wecom, "send", stalled_send)
    assert deliver(delivery_id) == "skipped"
    assert len(receiver.requests) == 1 and _row(runtime, delivery_id).parts_sent == 1


class _SlowReceiver:
    """A webhook receiver on loopback that holds each request until ``answer`` is set."""

    def __init__(self) -> None:
        self.answer, self.arrived, self.count = threading.Event(), threading.Event(), 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.count += 1
                receiver.arrived.set()
                receiver.answer.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        serving(self.server).start()

    def stop(self) -> None:
        self.answer.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_part_slower_than_the_lease_keeps_it_while_on_its_way(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One part outliving the five-minute lease (a slow receiver; a large attachment over slow SMTP):
    renewed only before each part, the lease ran out mid-send and the sweep's retry could claim the
    delivery and send that part a second time. It is now renewed while the part is on its way."""
    monkeypatch.setattr(delivery, "RENEW_EVERY", timedelta(milliseconds=50))
    slow = _SlowReceiver()
    try:
        delivery_id = _create(runtime, "webhook", slow.url)
        results: list[str] = []
        sending = threading.Thread(target=lambda: results.append(deliver(delivery_id)))
        sending.start()
        assert slow.arrived.wait(10)
        runtime.clock.advance(minutes=6)  # the part is still on its way after the first lease's end
        deadline = time.monotonic() + 10
        while _row(runtime, delivery_id).claimed_until <= runtime.now():
            assert time.monotonic() < deadline, "the lease was not renewed while the part was on its way"
            time.sleep(0.02)
        assert delivery.retry_due(runtime) == 0 and deliver(delivery_id) == "skipped"  # the sweep's retry
        slow.answer.set()
        sending.join(10)
        assert results == ["sent"] and slow.count == 1
        assert _row(runtime, delivery_id).attempts == 1
    finally:
        slow.stop()


def test_sms_segments_of_70_characters_through_the_gateway(runtime, drain, receiver) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="sms", to="13800000009", gateway=f"{receiver.url}/sms",
                                               secret=SecretStr("GW-TOKEN"))]
    _create(runtime, "sms", "13800000009", body="泽州县某煤矿发生透水事故，" * 30)
    drain()
    assert len(receiver.requests) == 4
    for req in receiver.requests:
        data = req.json()
        assert data["phone"] == "13800000009" and len(data["text"]) <= 70
        assert req.headers["Authorization"] == "Bearer GW-TOKEN"
    assert receiver.requests[-1].json()["text"].endswith("（详见舆情系统）")


def test_unreachable_channel_fails_permanently_on_4xx(runtime, drain, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.fail_next(1, status=404)
    delivery_id = _create(runtime, "webhook", f"{receiver.url}/gone")
    drain()
    row = _row(runtime, delivery_id)
    assert row.status == "failed" and "HTTP 404" in row.last_error and "不可重试" in row.last_error
    assert deliveries(runtime, status="failed")[0].id == delivery_id


def test_a_sweep_while_the_pdf_prints_does_not_send_the_mail_without_it(runtime, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The 专报's PDF is printed after the referral commits; the retry sweep of another worker
    running meanwhile must not send the mail with the DOCX alone (or half a PDF)."""
    from yuqing.alerts import delivery
    from yuqing.store import after_commit

    docx, pdf = tmp_path / "专报.docx", tmp_path / "专报.pdf"
    docx.write_bytes(b"PK fake docx")
    during: dict[str, object] = {}

    def print_pdf() -> None:  # the print step, registered before the delivery as build() does
        during["requeued"] = delivery.retry_due(runtime)
        during["outcome"] = delivery.run(runtime, delivery_id)
        pdf.write_bytes(b"%PDF-1.7 fake")

    with runtime.session() as s:
        after_commit(s, print_pdf)
        row = create_delivery(s, purpose="referral", channel="email", target="xuanchuan@zezhou.example",
                              subject="【舆情专报】测试", body="详见附件专报。", attachments=[docx, pdf], key="referral:test")
        delivery_id = row.id
    assert during == {"requeued": 0, "outcome": "skipped"}, during
    assert smtp.messages == []
    assert _row(runtime, delivery_id).claimed_until is None, "the print's lease is given up once it is done"
    assert delivery.run(runtime, delivery_id) == "sent"
    names = [p.get_filename() for p in smtp.wait_for(1)[0].walk() if p.get_filename()]
    assert names == ["专报.docx", "专报.pdf"]


def test_a_print_that_never_finishes_lets_the_docx_go_after_the_lease(runtime, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The printing process died: once the lease runs out the sweep sends the DOCX alone."""
    from yuqing.alerts import delivery

    docx, pdf = tmp_path / "专报.docx", tmp_path / "专报.pdf"
    docx.write_bytes(b"PK fake docx")
    with runtime.session() as s:
        delivery_id = create_delivery(s, purpose="referral", channel="email", target="xuanchuan@zezhou.example",
                                      subject="【舆情专报】测试", body="详见附件专报。", attachments=[docx, pdf],
                                      key="referral:test2").id
        s.info.pop("yuqing.store.after_commit", None)  # the process dies before its steps run
    assert delivery.run(runtime, delivery_id) == "skipped"
    runtime.clock.advance(seconds=delivery.LEASE.total_seconds())
    assert delivery.retry_due(runtime) == 1
    assert delivery.run(runtime, delivery_id) == "sent"
    names = [p.get_filename() for p in smtp.wait_for(1)[0].walk() if p.get_filename()]
    assert names == ["专报.docx"]

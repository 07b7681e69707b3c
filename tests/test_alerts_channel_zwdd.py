"""浙政钉 work notices through its signed gateway, against a loopback gateway that checks each
request as the open platform does: the AppKey known, the timestamp well-formed, the nonce not
seen before, and the HMAC-SHA256 signature rebuilt from what arrived (method, timestamp, nonce,
path, and the form parameters sorted by key, values as they are), following the platform's own
Java SDK (zwdd-sdk-java 1.2.0, ``client.sign.Signature``). The check is written here from those
rules, not borrowed from the product's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from servers import serving

from yuqing.alerts.channels.zwdd_work import timestamp_of
from yuqing.alerts.delivery import create_delivery
from yuqing.exceptions import ProfileError
from yuqing.models import Delivery
from yuqing.profile import Channel, load_profile

REPO = Path(__file__).resolve().parent.parent
APP_KEY, APP_SECRET, TENANT = "zwdd-app-key", "ZWDD-APP-SECRET", "196729"
CHINA = timezone(timedelta(hours=8))
LONG = "\n".join(f"第{i}段：泽州县巴公镇某煤矿透水事故救援进展，现场指挥部通报被困人员位置已确定，排水作业持续进行。"
                 for i in range(30))


class SignedGateway:
    """openplatform.dg-work.cn on loopback: refuses what it cannot verify, records what it accepts."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.nonces: set[str] = set()
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("ascii")
                fields = dict(parse_qsl(body, keep_blank_values=True))
                why = gateway.verify(self.command, self.path, dict(self.headers.items()), fields)
                with gateway.lock:
                    if why:
                        gateway.refused.append(why)
                        answer: dict[str, Any] = {"success": False, "Code": "InvalidSignature", "Message": why}
                    else:
                        gateway.accepted.append({"path": self.path, "headers": dict(self.headers.items()),
                                                 "fields": fields})
                        answer = {"success": True, "content": {"success": True, "data": "msg-1",
                                                               "responseCode": "0", "responseMessage": "OK"}}
                payload = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serving(self.server)

    def verify(self, method: str, path: str, headers: dict[str, str], fields: dict[str, str]) -> str:
        secret = self.secrets.get(headers.get("apiKey", ""))
        if secret is None:
            return "apiKey 无效"
        stamp, nonce = headers.get("X-Hmac-Auth-Timestamp", ""), headers.get("X-Hmac-Auth-Nonce", "")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", stamp):
            return f"时间戳格式错误 {stamp!r}"
        if headers.get("X-Hmac-Auth-Version") != "1.0" or not headers.get("X-Hmac-Auth-IP"):
            return "缺少版本或来源地址"
        with self.lock:
            if not nonce or nonce in self.nonces:
                return "nonce 重复"
            self.nonces.add(nonce)
        pairs = "&".join(f"{k}={v}" for k, v in sorted(fields.items(), key=lambda kv: kv[0].lower()) if v)
        signed = f"{method}\n{stamp}\n{nonce}\n{path.split('?')[0]}" + (f"\n{pairs}" if pairs else "")
        expected = base64.b64encode(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, headers.get("X-Hmac-Auth-Signature", "")):
            return "签名不匹配"
        return ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def gateway() -> Iterator[SignedGateway]:
    server = SignedGateway({APP_KEY: APP_SECRET})
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _deliver(rt, to: str, body: str) -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        row = create_delivery(s, purpose="alert", channel="zwdd_work", target=to, subject="【舆情预警·重大】煤矿透水",
                              body=body, key=f"test:zwdd:{len(body)}")
        return row.id


def _row(rt, delivery_id: int) -> Delivery:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Delivery, delivery_id)


def test_a_work_notice_passes_the_gateways_signature_check(runtime, drain, gateway) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="zwdd_work", to="acc-0423,acc-0517", corp_id=APP_KEY,
                                               secret=APP_SECRET, tenant_id=TENANT, api_base=gateway.url)]
    delivery_id = _deliver(runtime, "acc-0423,acc-0517", LONG * 5)
    drain()
    row = _row(runtime, delivery_id)
    assert gateway.refused == []
    assert row.status == "sent" and row.parts_sent == row.parts_total == len(gateway.accepted) == 2
    for i, request in enumerate(gateway.accepted, 1):
        fields = request["fields"]
        assert request["path"] == "/message/workNotification"
        assert fields["tenantId"] == TENANT and fields["receiverIds"] == "acc-0423,acc-0517"
        assert fields["bizMsgId"] == f"test:zwdd:{len(LONG * 5)}#{i}", "a part sent again is the same business message"
        msg = json.loads(fields["msg"])
        assert msg["msgtype"] == "text" and f"（{i}/2）" in msg["text"]["content"]
        assert request["headers"]["X-Hmac-Auth-Timestamp"] == runtime.now().astimezone(CHINA).isoformat(
            timespec="milliseconds"), "signed on the runtime's clock, in China time"
    first = json.loads(gateway.accepted[0]["fields"]["msg"])["text"]["content"]
    assert first.startswith("【舆情预警·重大】煤矿透水\n第0段：")
    joined = "".join(json.loads(r["fields"]["msg"])["text"]["content"] for r in gateway.accepted)
    assert all(f"第{i}段：" in joined for i in range(30)), "split between paragraphs, nothing cut away"


def test_a_wrong_secret_is_refused_by_the_gateway_and_kept_out_of_the_log(runtime, drain, gateway) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="zwdd_work", to="acc-0423", corp_id=APP_KEY,
                                               secret="NOT-THE-SECRET", tenant_id=TENANT, api_base=gateway.url)]
    delivery_id = _deliver(runtime, "acc-0423", "泽州县某煤矿透水，3 人被困。")
    drain()
    row = _row(runtime, delivery_id)
    assert gateway.refused == ["签名不匹配"] and gateway.accepted == []
    assert row.status == "pending" and row.attempts == 1, "retried with back-off, not dropped"
    assert "网关答复未成功 签名不匹配" in row.last_error and "NOT-THE-SECRET" not in row.last_error


def test_the_timestamp_is_china_time_with_milliseconds() -> None:
    assert timestamp_of(datetime(2026, 12, 1, 8, 16, 0, 123456, tzinfo=UTC)) == "2026-12-01T16:16:00.123+08:00"


def test_a_zwdd_channel_needs_its_tenant(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))
    data["alerts"]["channels"] = [{"type": "zwdd_work", "to": "acc-0423", "corp_id": APP_KEY, "secret": "s"}]
    path = tmp_path / "bureau.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: 字段 alerts.channels[0]: zwdd_work 渠道须给出 tenant_id（租户 ID（tenantId））"

"""WeCom application messages, DingTalk work notices (浙政钉/专有钉钉) and the Feishu bot, each
against a loopback server answering as the platform does: tokens, numbered parts under the
size limit, and a frequency-limit errcode that queues the delivery for later (never drops it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from rq.registry import ScheduledJobRegistry
from servers import PlatformEmulator
from sqlalchemy import func, select

from yuqing.alerts.delivery import create_delivery, retry_due
from yuqing.dashboards.labels import AUDIT_ACTIONS, label
from yuqing.exceptions import ProfileError
from yuqing.models import AuditEntry, Delivery
from yuqing.profile import Channel, load_profile

REPO = Path(__file__).resolve().parent.parent
# Paragraphs of a long 专报 summary: 30 × ~190 bytes, well over WeCom's 2,048.
LONG = "\n".join(f"第{i}段：泽州县巴公镇某煤矿透水事故救援进展，现场指挥部通报被困人员位置已确定，排水作业持续进行。"
                 for i in range(30))


@pytest.fixture
def platform() -> Iterator[PlatformEmulator]:
    server = PlatformEmulator({
        "/cgi-bin/gettoken": {"errcode": 0, "errmsg": "ok", "access_token": "WX-TOKEN-1", "expires_in": 7200},
        "/gettoken": {"errcode": 0, "errmsg": "ok", "access_token": "DT-TOKEN-1", "expires_in": 7200},
        "/topapi/message/corpconversation/asyncsend_v2": {"errcode": 0, "errmsg": "ok", "task_id": 1},
        "/open-apis/bot/v2/hook/FS-HOOK": {"code": 0, "msg": "success"},
    }).start()
    yield server
    server.stop()


def _deliver(rt, channel: str, to: str, body: str = LONG) -> int:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        row = create_delivery(s, purpose="alert", channel=channel, target=to, subject="【舆情预警·重大】煤矿透水",
                              body=body, key=f"test:{channel}:{len(body)}")
        return row.id


def _row(rt, delivery_id: int) -> Delivery:  # type: ignore[no-untyped-def]
    with rt.session() as s:
        return s.get(Delivery, delivery_id)


def _assert_queued_for_later(rt, delivery_id: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    row = _row(rt, delivery_id)
    assert row.status == "pending" and row.attempts == 0, "a frequency limit is not a failed attempt"
    assert row.next_attempt_at == rt.now() + timedelta(seconds=seconds)
    assert "发送过于频繁" in row.last_error
    scheduled = ScheduledJobRegistry("notify", connection=rt.redis).get_job_ids()
    assert any(j.startswith(f"deliver-{delivery_id}-after-") for j in scheduled), "queued in RQ for then"


def _later(rt, drain, seconds: float) -> None:  # type: ignore[no-untyped-def]
    drain()
    assert retry_due(rt) == 0, "not before the platform's window has passed"
    rt.clock.advance(seconds=seconds)
    assert retry_due(rt) == 1
    drain()


def test_wecom_application_message_to_named_members(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="wecom_app", to="zhangsan|lisi", corp_id="ww5f3c", agent_id="1000002",
                                               secret="WX-APP-SECRET", api_base=platform.url)]
    platform.script("/cgi-bin/message/send", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    delivery_id = _deliver(runtime, "wecom_app", "zhangsan|lisi")
    drain()
    _assert_queued_for_later(runtime, delivery_id, 60)
    assert "WX-APP-SECRET" not in _row(runtime, delivery_id).last_error
    assert "WX-TOKEN-1" not in _row(runtime, delivery_id).last_error
    _later(runtime, drain, 60)
    row = _row(runtime, delivery_id)
    assert row.status == "sent" and row.parts_sent == row.parts_total >= 3
    [token] = platform.to("/cgi-bin/gettoken")
    assert parse_qs(urlsplit(token.path).query) == {"corpid": ["ww5f3c"], "corpsecret": ["WX-APP-SECRET"]}
    sent = platform.to("/cgi-bin/message/send")[1:]  # the first was refused as too frequent
    assert len(sent) == row.parts_total
    n = row.parts_total
    for i, req in enumerate(sent, 1):
        assert parse_qs(urlsplit(req.path).query)["access_token"] == ["WX-TOKEN-1"]
        body = req.json()
        assert body["touser"] == "zhangsan|lisi" and body["agentid"] == 1000002 and body["msgtype"] == "markdown"
        content = body["markdown"]["content"]
        assert len(content.encode()) <= 2048
        assert f"（{i}/{n}）" in content
    joined = "\n".join(r.json()["markdown"]["content"] for r in sent)
    assert all(f"第{i}段：" in joined for i in range(30)), "split between paragraphs, nothing cut away"
    assert sent[0].json()["markdown"]["content"].startswith("**【舆情预警·重大】煤矿透水**")


def test_wecom_expired_token_is_fetched_again(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="wecom_app", to="zhangsan", corp_id="ww5f3c", agent_id="1000002",
                                               secret="WX-APP-SECRET", api_base=platform.url)]
    platform.script("/cgi-bin/message/send", (200, {"errcode": 42001, "errmsg": "access_token expired"}))
    delivery_id = _deliver(runtime, "wecom_app", "zhangsan", body="泽州县某煤矿透水，3 人被困。")
    drain()
    assert _row(runtime, delivery_id).status == "sent"
    assert len(platform.to("/cgi-bin/gettoken")) == 2 and len(platform.to("/cgi-bin/message/send")) == 2


def test_dingtalk_work_notice_with_tenant(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="dingtalk_work", to="0423,0517", corp_id="dingappkey", agent_id="2871",
                                               secret="DT-APP-SECRET", tenant_id="196729", api_base=platform.url)]
    path = "/topapi/message/corpconversation/asyncsend_v2"
    platform.script(path, (200, {"errcode": 90018, "errmsg": "当前请求过多，被限流"}))
    delivery_id = _deliver(runtime, "dingtalk_work", "0423,0517", body=LONG * 5)
    drain()
    _assert_queued_for_later(runtime, delivery_id, 60)
    _later(runtime, drain, 60)
    row = _row(runtime, delivery_id)
    assert row.status == "sent" and row.parts_total == 2
    [token] = platform.to("/gettoken")
    assert parse_qs(urlsplit(token.path).query) == {"appkey": ["dingappkey"], "appsecret": ["DT-APP-SECRET"],
                                                     "tenantId": ["196729"]}
    sent = platform.to(path)[1:]
    assert len(sent) == 2
    for i, req in enumerate(sent, 1):
        assert len(req.body) <= 20000
        body = req.json()
        assert body["userid_list"] == "0423,0517" and body["agent_id"] == 2871 and body["tenantId"] == "196729"
        assert f"（{i}/2）" in body["msg"]["markdown"]["text"]


def test_feishu_bot_signed_rate_limited_then_sent(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    url = f"{platform.url}/open-apis/bot/v2/hook/FS-HOOK"
    runtime.profile.alerts.channels = [Channel(type="feishu", to=url, secret="FS-SIGN-SECRET")]
    path = "/open-apis/bot/v2/hook/FS-HOOK"
    platform.script(path, (400, {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}),
                    (429, {"code": 99991400, "msg": "request trigger frequency limit"}, {"Retry-After": "5"}))
    delivery_id = _deliver(runtime, "feishu", url, body="泽州县某煤矿透水，3 人被困。")
    drain()
    _assert_queued_for_later(runtime, delivery_id, 60)
    _later(runtime, drain, 60)
    _assert_queued_for_later(runtime, delivery_id, 5)  # the gateway's 429 says how long
    _later(runtime, drain, 5)
    assert _row(runtime, delivery_id).status == "sent"
    last = platform.to(path)[-1].json()
    assert last["msg_type"] == "text" and last["content"]["text"].startswith("【舆情预警·重大】煤矿透水\n")
    expected = base64.b64encode(hmac.new(f"{last['timestamp']}\nFS-SIGN-SECRET".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert last["sign"] == expected


def test_feishu_splits_at_its_20_kb_body(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    url = f"{platform.url}/open-apis/bot/v2/hook/FS-HOOK"
    runtime.profile.alerts.channels = [Channel(type="feishu", to=url)]
    delivery_id = _deliver(runtime, "feishu", url, body=LONG * 8)
    drain()
    sent = platform.to("/open-apis/bot/v2/hook/FS-HOOK")
    n = len(sent)
    assert _row(runtime, delivery_id).status == "sent" and n == _row(runtime, delivery_id).parts_total >= 2
    assert all(len(r.body) <= 20 * 1024 for r in sent)
    assert sent[-1].json()["content"]["text"].startswith(f"（{n}/{n}）")
    assert "**" not in sent[0].json()["content"]["text"], "Feishu's text shows no markdown marks"


@pytest.mark.parametrize("channel, message", [
    ({"type": "wecom_app", "to": "zhangsan", "agent_id": "1000002", "secret": "s"},
     "字段 alerts.channels[0]: wecom_app 渠道须给出 corp_id（企业 ID（corpid））"),
    ({"type": "dingtalk_work", "to": "0423", "corp_id": "k", "agent_id": "2871"},
     "字段 alerts.channels[0]: dingtalk_work 渠道须给出 secret（应用的 Secret）"),
    ({"type": "wecom_app", "to": "zhangsan", "corp_id": "ww", "agent_id": "1", "secret": "s", "api_base": "qyapi.gov"},
     "字段 alerts.channels[0]: api_base 应为 http(s):// 开头的地址，而不是 'qyapi.gov'"),
])
def test_an_app_channel_without_what_it_needs_is_refused(tmp_path: Path, channel: dict, message: str) -> None:
    data = yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))
    data["alerts"]["channels"] = [channel]
    path = tmp_path / "bureau.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_robot_burst_is_queued_at_twenty_a_minute(runtime, drain, receiver) -> None:  # type: ignore[no-untyped-def]
    url = f"{receiver.url}/cgi-bin/webhook/send?key=WECOM-ROBOT-KEY"
    runtime.profile.alerts.channels = [Channel(type="wecom", to=url)]
    runtime.clock.advance(seconds=-runtime.now().second)  # at the start of a minute
    ids = []
    with runtime.session() as s:
        for n in range(23):
            ids.append(create_delivery(s, purpose="alert", channel="wecom", target=url, subject=f"预警{n}",
                                       body="泽州县某煤矿透水，3 人被困。", key=f"burst:{n}").id)
    drain()
    assert len(receiver.requests) == 20, "the robot's 20 a minute, not one more"
    waiting = [_row(runtime, i) for i in ids if _row(runtime, i).status == "pending"]
    assert len(waiting) == 3
    assert all(w.attempts == 0 and w.next_attempt_at == runtime.now() + timedelta(seconds=60) for w in waiting)
    runtime.clock.advance(seconds=60)
    assert retry_due(runtime) == 3
    drain()
    assert len(receiver.requests) == 23 and all(_row(runtime, i).status == "sent" for i in ids), "none dropped"


def test_feishu_keeps_to_five_a_second(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    url = f"{platform.url}/open-apis/bot/v2/hook/FS-HOOK"
    runtime.profile.alerts.channels = [Channel(type="feishu", to=url)]
    with runtime.session() as s:
        for n in range(7):
            create_delivery(s, purpose="alert", channel="feishu", target=url, subject=f"预警{n}", body="透水",
                            key=f"fs:{n}")
    drain()
    assert len(platform.to("/open-apis/bot/v2/hook/FS-HOOK")) == 5
    runtime.clock.advance(seconds=1)
    retry_due(runtime)
    drain()
    assert len(platform.to("/open-apis/bot/v2/hook/FS-HOOK")) == 7


def test_wecom_recipients_not_reached_are_recorded_audited_and_told(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    runtime.profile.alerts.channels = [Channel(type="wecom_app", to="zhangsan|wangwu|zhaoliu", corp_id="ww5f3c",
                                               agent_id="1000002", secret="WX-APP-SECRET", api_base=platform.url)]
    platform.script("/cgi-bin/message/send", (200, {"errcode": 0, "errmsg": "ok", "invaliduser": "wangwu|zhaoliu",
                                                    "invalidparty": "7", "invalidtag": "", "msgid": "m1"}))
    delivery_id = _deliver(runtime, "wecom_app", "zhangsan|wangwu|zhaoliu", body="泽州县某煤矿透水，3 人被困。")
    drain()
    row = _row(runtime, delivery_id)
    assert row.status == "sent", "WeCom accepted it: zhangsan has it"
    assert row.last_error == "已发送，但以下接收人未收到：成员 wangwu、zhaoliu；部门 7"
    with runtime.session() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.unreached")).all()
        notices = s.scalars(select(Delivery).where(Delivery.purpose == "system")).all()
        assert (entry.target_type, entry.target_id, entry.actor) == ("delivery", delivery_id, "system")
        assert entry.detail["unreached"] == "成员 wangwu、zhaoliu；部门 7"
        assert [n.status for n in notices] == ["sent"]
        assert notices[0].subject == "推送未送达部分接收人：【舆情预警·重大】煤矿透水"
        assert "但平台答复以下接收人未收到：成员 wangwu、zhaoliu；部门 7。" in notices[0].body
        assert "invalid" not in notices[0].body
    assert label(AUDIT_ACTIONS, "delivery.unreached") == "推送有接收人未收到"
    drain()
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.purpose == "system")) == 1, \
            "told once; a notice about a notice is never made"


def test_only_the_exact_token_codes_ask_for_a_new_token(runtime, drain, platform) -> None:  # type: ignore[no-untyped-def]
    """DingTalk's 88 (token invalid) is not 880 or 8801, nor a message quoting "errcode 40014":
    another refusal fails the delivery without asking for a new token and sending again."""
    runtime.profile.alerts.channels = [Channel(type="dingtalk_work", to="0423", corp_id="dingappkey", agent_id="2871",
                                               secret="DT-APP-SECRET", api_base=platform.url)]
    path = "/topapi/message/corpconversation/asyncsend_v2"
    platform.script(path, (200, {"errcode": 880, "errmsg": "参数错误，参见 errcode 40014"}))
    delivery_id = _deliver(runtime, "dingtalk_work", "0423", body="泽州县某煤矿透水，3 人被困。")
    drain()
    assert _row(runtime, delivery_id).status == "failed"
    assert len(platform.to("/gettoken")) == 1 and len(platform.to(path)) == 1


def test_a_token_code_sent_as_digits_is_still_recognised(runtime) -> None:  # type: ignore[no-untyped-def]
    from yuqing.alerts.channels import tokens
    from yuqing.alerts.exceptions import ChannelError

    answers = [ChannelError("errcode 88 invalid", code="88"), "sent"]
    tried: list[str] = []

    def post(access: str) -> str:
        tried.append(access)
        answer = answers.pop(0)
        if isinstance(answer, ChannelError):
            raise answer
        return answer

    fresh = iter(["T1", "T2"])
    result = tokens.send_with_token("dingtalk_work", "http://127.0.0.1:9", "app",
                                    lambda: tokens.token("dingtalk_work", "http://127.0.0.1:9", "app",
                                                         lambda: (next(fresh), 7200)), post, frozenset({88}))
    assert result == "sent" and tried == ["T1", "T2"]

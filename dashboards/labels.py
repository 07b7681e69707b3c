"""Chinese for every code a page shows (信源类型, 层级, 渠道, 报送规则条件, 操作日志 …).

Codes stay in the store and the profile; people read words. One table per kind of code, and
:func:`label` falls back to the code itself only for one nobody has named yet.
"""

from __future__ import annotations

from typing import Any

from yuqing.levels import Category, Tier

SOURCE_KINDS = {"feed": "RSS/Atom 订阅", "listing": "网页列表", "sitemap": "站点地图", "json_api": "数据接口"}
TIERS = {t.value: t.label for t in Tier}
CATEGORIES = {c.value: c.label for c in Category}
BUREAU_LEVELS = {"national": "国家级", "province": "省级", "city": "市级", "county": "县级", "town": "乡镇级"}
CHANNELS = {"email": "电子邮件", "wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "webhook": "接口推送",
            "sms": "短信", "feishu": "飞书机器人", "wecom_app": "企业微信应用消息", "dingtalk_work": "钉钉工作通知",
            "zwdd_work": "浙政钉工作通知"}
ACCUSATIONS = {"corruption": "腐败", "abuse_of_power": "滥用职权", "inaction": "不作为", "cover_up": "瞒报"}
ROUTE_KEYS = {"level": "等级", "category": "类别", "place": "地点", "tier": "信源层级", "in_remit": "属本局职责",
              "rumor": "疑似谣言", "watch_word": "关注词", "spans_sections": "跨科室", "accusation": "指控",
              "complaint": "投诉诉求"}
YES_NO = {"true": "是", "false": "否"}
AUDIT_ACTIONS = {
    "login": "登录", "logout": "退出登录", "login.failed": "登录失败", "login.blocked": "登录被暂时锁定",
    "digest.view": "查看日报/专报", "alert.notify": "发出预警通知", "alert.acknowledge": "签收预警",
    "alert.confirm": "确认预警属实", "alert.dismiss": "排除预警", "alert.level": "调整预警等级",
    "alert.review.confirm": "研判：确认属实", "alert.review.dismiss": "研判：排除",
    "alert.review.level": "研判：调整等级", "alert.review.restore": "研判：恢复自动研判", "alert.silence": "静默预警", "silence.add": "新增静默",
    "silence.expire": "结束静默", "ticket.open": "开立工单", "ticket.assign": "分派工单", "ticket.close": "关闭工单",
    "alert.merged": "预警解除（事件已并入）", "silence.merged": "静默随事件并入",
    "ticket.merged": "合并工单（回应记录与时限）",
    "digest.merged": "日报/专报所列事件已并入",
    "ticket.keep": "排除预警但保留工单", "ticket.pause": "暂停计时", "ticket.resume": "恢复计时",
    "ticket.reopen": "重新打开工单", "ticket.respond": "记录回应", "ticket.transition": "变更工单状态",
    "referral.acknowledge": "部门签收报送", "referral.acknowledge_by_link": "部门通过签收链接签收",
    "referral.note": "部门备注", "referral.download": "部门下载专报", "user.add": "新建账号", "user.create": "新建账号", "user.enable": "启用账号",
    "user.disable": "停用账号", "user.password": "重置密码", "report.html": "查看回应报告",
    "report.docx": "下载回应报告（DOCX）", "report.pdf": "下载回应报告（PDF）",
    "period.docx": "下载回应关切情况统计（DOCX）", "period.pdf": "下载回应关切情况统计（PDF）", "foresee.assess": "政策风险评估",
    "foresee.finalise": "评估定稿", "foresee.review": "评估审阅", "password.change": "修改密码", "ticket.correct_response_time": "更正回应时间",
    "source.try": "试采信源", "delivery.unreached": "推送有接收人未收到",
    "password.change_failed": "修改密码失败（当前密码不正确）", "password.must_change": "密码不合要求，登录后须先改密码",
}
TARGETS = {"alert": "预警", "ticket": "工单", "user": "账号", "referral": "报送", "event": "事件", "silence": "静默",
           "digest": "日报", "report": "报告", "source": "信源", "assessment": "评估",
           "delivery": "推送", "period": "回应关切情况统计"}


def label(table: dict[str, str], code: Any) -> str:
    """The words for ``code`` in ``table``; the code itself if it has none yet."""
    return table.get(str(code), str(code))


def route_condition(key: str, values: list[Any], topics: dict[str, str]) -> str:
    """One condition of a 报送规则 in words: "类别：不实信息", "属本局职责：是"."""
    tables = {"category": CATEGORIES, "tier": TIERS, "accusation": ACCUSATIONS, "in_remit": YES_NO,
              "rumor": YES_NO, "spans_sections": YES_NO, "complaint": YES_NO, "topic": topics}
    table = tables.get(key, {})
    return f"{label(ROUTE_KEYS, key)}：{'或'.join(label(table, v) for v in values)}"

"""事后回应报告 as a 公文 record for the core's renderer (GB/T 9704-2012), DOCX and PDF alike.

Narrative sections: 事件概况, 舆情发展过程 (in phases), 回应处置情况 (every response, its channel and
its timeliness against each deadline), 部门协同 (referrals, who acknowledged when), 舆情平复
(volume and negative share before and after each response), 经验与不足; then the key posts and
the full timeline as tables that fit the 版心.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from yuqing.documents import Heading, Link, OfficialDocument, Paragraph, Picture, Table
from yuqing.documents.dates import ClockState, cn_short
from yuqing.documents.narrative import overview
from yuqing.documents.wording import clip

if TYPE_CHECKING:
    from yuqing.runtime import Runtime

    from .reports import ReportData

SERIES = "事后回应报告"
_ACK_LINK = re.compile(r"（签收链接，[^）]*）")
# The console's timeline names records by id ("开立回应工单 #2"); a document does not.
_RECORD_ID = re.compile(r"\s*#\d+")


def signer(by: str) -> str:
    """Who acknowledged, as a reader sees it: the name, not the address it came from."""
    return _ACK_LINK.sub("（通过签收链接）", by or "").strip()


def _whole_units(d: ReportData) -> tuple[list[str], list[int], str]:
    """The chart's volume in whole clock hours (or days): its buckets fit the event's age (ten
    minutes for a young event), and a phase said of one ten-minute bucket read 「每小时 2 条」 beside
    a 专报 whose busiest hour held 4. The labels (12月1日14时 / 11月29日) and the unit's word."""
    counts: dict[str, int] = {}
    for bucket, n in zip(d.stats["hours"], d.stats["volume"], strict=True):
        key = bucket[:8] if " " in bucket else bucket  # "12-01 14" of "12-01 14:10"; a day stays "11-29"
        counts[key] = counts.get(key, 0) + n
    keys = sorted(counts)
    if keys and " " not in keys[0]:
        labels = [f"{int(k[:2])}月{int(k[3:5])}日" for k in keys]
        return labels, [counts[k] for k in keys], "当日"
    return [d.label(f"{k}:00") for k in keys], [counts[k] for k in keys], "该小时"


def _phases(d: ReportData, tz: str) -> list[Paragraph]:
    """发酵、高峰、回落 from the volume in whole hours (or days)."""
    hours, volume, unit = _whole_units(d)
    if not hours:
        return [Paragraph.of("事件期间未监测到相关信息。")]
    peak = max(range(len(volume)), key=lambda i: volume[i])
    before, after = sum(volume[:peak]), sum(volume[peak + 1:])
    out = [Paragraph.of(f"舆情发酵期：自{hours[0]}起，至高峰前共 {before} 条。" if peak else
                        f"舆情首次出现即为高峰：{hours[0]}。"),
           Paragraph.of(f"舆情高峰期：{hours[peak]}，{unit} {volume[peak]} 条。")]
    if peak < len(hours) - 1:
        out.append(Paragraph.of(f"舆情回落期：高峰后至{hours[-1]}共 {after} 条，逐步回落。"))
    steps = d.account.progression_sentence(tz)
    if steps:
        out.append(Paragraph.of(f"伤亡数字随报道更新：{steps}。"))
    return out


def _responses(d: ReportData, tz: str) -> list[Any]:
    out: list[Any] = []
    if not d.responses:
        out.append(Paragraph.of("本事件尚无回应记录。"))
    for r in d.responses:
        parts: list[str | Link] = [f"{cn_short(r['at'], tz)}，{r['kind']}，通过{r['channel']}"]
        if r["text"]:
            parts.append(f"发布“{clip(r['text'], 60).rstrip('。．.；;，,')}”")  # the sentence's stop follows the quote
        if r["link"]:
            parts += ["（", Link("原文", r["link"]), "）"]
        out.append(Paragraph(parts + ["。"]))
    out.append(Table(["时限", "应完成时间", "完成情况"],
                     [[x["kind"], x["due"], x["verdict"]] for x in d.deadlines] or [["无", "—", "无时限"]],
                     [34, 44, 78], caption="回应时限执行情况"))
    return out


# What a 专报 that did not leave is called, as the timeline calls it (dashboards/timeline.py).
UNSENT = {"failed": "发送失败", "pending": "待发送"}


def _went(r: dict[str, Any]) -> bool:
    """The department got the 专报: it was sent (a referral is sent, delivered or acknowledged)."""
    return r["status"] not in UNSENT


def _referrals(d: ReportData) -> list[Any]:
    if not d.referrals:
        return [Paragraph.of("本事件未向外部门报送。")]
    went = [r for r in d.referrals if _went(r)]
    acked = [r for r in went if r["acknowledged"]]
    lead = f"共向 {len(went)} 个部门报送专报，已签收 {len(acked)} 个" if went else "专报尚未送达任何部门"
    for status, label in UNSENT.items():
        names = [r["name"] for r in d.referrals if r["status"] == status]
        if names:
            lead += f"；向{'、'.join(names)}报送的专报{label}"
    out: list[Any] = [Paragraph.of(lead + "。")]
    rows = [[r["name"], r["sent"] if _went(r) and r["sent"] else UNSENT.get(r["status"], "未发送"),
             f"{r['acknowledged']} {signer(r['by'])}".strip() if r["acknowledged"]
             else ("未签收" if _went(r) else "—"), "；".join(r["notes"]) or "—"] for r in d.referrals]
    out.append(Table(["部门", "报送时间", "签收", "处置反馈"], rows, [32, 42, 42, 40], caption="部门协同情况"))
    return out


def _calm(d: ReportData) -> list[Paragraph]:
    if not d.calm:
        return [Paragraph.of("尚无回应，无法比较回应前后的舆情变化。")]
    return [Paragraph.of(line) for line in d.calm]


def _lessons(d: ReportData) -> list[Any]:
    good = [x for x in d.deadlines if x["state"] == ClockState.MET]
    late = [x for x in d.deadlines if x["state"] in (ClockState.LATE, ClockState.OVERDUE)]
    # 经验 says what went well: a shortfall (「未有按时完成的时限」) belongs under 不足.
    out: list[Any] = [Heading("经验", 2)]
    if good:
        out.append(Paragraph.of(f"{'、'.join(x['kind'] for x in good)}在时限内完成。"))
    if d.lag:
        out.append(Paragraph.of(f"首条信息发布 {d.lag}后即被监测发现。"))
    if len(out) == 1:
        running = any(x["state"] == ClockState.RUNNING for x in d.deadlines)
        out.append(Paragraph.of("回应尚在进行，经验待时限到期后总结。" if running else "未形成可总结的经验。"))
    out.append(Heading("不足", 2))
    gaps = [f"{x['kind']}{x['verdict']}" for x in late]
    # A department is faulted only for a 专报 it got; one that failed to leave is the bureau's own gap.
    gaps += [f"{r['name']}未签收" for r in d.referrals if _went(r) and not r["acknowledged"]]
    gaps += [f"向{r['name']}报送的专报发送失败" for r in d.referrals if r["status"] == "failed"]
    out.append(Paragraph.of("；".join(gaps) + "，今后须压实时限责任。" if gaps else "未发现明显不足。"))
    return out


PAGE_NOW = {"deleted": "已删除", "modified": "已修改"}


def _evidence(d: ReportData, tz: str) -> list[Any]:
    """原文快照 of the key posts: when each page was captured and the start of its SHA-256, so
    a reader can match the kept copy even after the site deleted or edited the page."""
    shown = [(p, d.captures[p.id]) for p in d.posts if p.id in d.captures]
    if not shown:
        return []
    changed = [p for p, _ in shown if p.page_state in PAGE_NOW]
    intro = f"重点帖文中有 {len(shown)} 篇在采集时留存了原文快照（网页取证）"
    intro += (f"，其中 {len(changed)} 篇的原网页其后已被删除或修改，以快照为准。" if changed else "。")
    rows = [[clip(p.title or p.text, 30), cn_short(c.fetched_at, tz), c.hash_prefix,
             f"{PAGE_NOW[p.page_state]}（{cn_short(p.page_state_at, tz)}）" if p.page_state in PAGE_NOW else "未见变化"]
            for p, c in shown]
    return [Paragraph.of(intro + "摘要值为快照原始内容 SHA-256 摘要的前 16 位。"),
            Table(["标题", "取证时间", "摘要值", "原网页现状"], rows, [44, 42, 40, 30], caption="原文快照")]


def compose(rt: Runtime, d: ReportData) -> OfficialDocument:
    tz = rt.settings.timezone
    profile = rt.profile
    blocks: list[Any] = [Heading("事件概况"), *overview(d.account, tz),
                         Table(["项目", "情况"], [list(row) for row in d.summary], [37, 119])]
    blocks += [Heading("舆情发展过程"), *_phases(d, tz)]
    for key, caption in (("volume", "图 1　声量走势"), ("emotion", "图 2　负面情绪走势"), ("sources", "图 3　信源与地点")):
        if key in d.charts:
            blocks.append(Picture(d.charts[key], caption))
    blocks += [Heading("回应处置情况"), *_responses(d, tz)]
    blocks += [Heading("部门协同"), *_referrals(d)]
    blocks += [Heading("舆情平复"), *_calm(d)]
    blocks += [Heading("经验与不足"), *_lessons(d)]
    blocks += [Heading("附件"), Paragraph.of(f"处置结果：{d.outcome}"),
               Table(["发布时间", "标题", "来源", "转载"],
                     [[cn_short(p.published_at or p.fetched_at, tz), clip(p.title or p.text, 40),
                       clip(f"{p.author} {p.platform}".strip(), 16), str(p.duplicate_count)] for p in d.posts],
                     [42, 62, 36, 16], caption="重点帖文"),
               *_evidence(d, tz),
               Table(["时间", "事项", "说明", "经办"],
                     [[cn_short(e.at, tz), _RECORD_ID.sub("", e.title), clip(e.detail, 80), d.person(e.by)]
                      for e in d.timeline],
                     [40, 38, 54, 24], caption="处置时间线")]
    return OfficialDocument(
        series=SERIES, issuer=profile.bureau.name, title=f"关于“{clip(d.account.title, 30)}”舆情回应情况的报告",
        issued_at=d.generated_at, blocks=blocks, secrecy=profile.documents.secrecy,
        cc=list(profile.documents.cc), printer=profile.documents.printer or f"{profile.bureau.name}办公室",
        printed_at=d.generated_at, timezone=tz)



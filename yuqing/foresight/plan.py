"""解读回应预案 gathered from an assessment: a plain record that renderers lay out.

Every sentence that states a fact carries its citations (〔草案第2段〕, 〔事件#3〕, 〔条目#41〕) and
quotes the draft or the post verbatim in 「」; a sentence without a citation is a judgement or a
suggestion and begins with 研判 or 建议 (tests parse the document and resolve every citation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yuqing.documents.wording import quoted_list
from yuqing.profile import Profile

from .assess import Foresight, where_in_draft
from .concerns import sentences
from .lexicon import INTERESTS

MAX_POINTS = 8
MAX_CONCERNS = 10
CHANNELS = ("政府网站", "政务新媒体", "新闻发布会")
PRESS_GRADES = ("较高", "高")
ESCALATE_MIN_POSTS = 20


@dataclass
class Sentence:
    text: str
    cites: list[str] = field(default_factory=list)


@dataclass
class Block:
    heading: str  # a second-level heading (numbered （一） by the renderer); "" for none
    paragraphs: list[list[Sentence]]


@dataclass
class Part:
    heading: str  # a first-level heading (numbered 一、 by the renderer)
    blocks: list[Block]


@dataclass
class Plan:
    title: str
    bureau: str
    issued: date
    parts: list[Part]
    sources: list[tuple[str, str]]  # (citation, what it is): the appendix


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _unquote(text: str) -> str:
    """A quote ends without its sentence's stop, so the sentence around it ends once."""
    return text.rstrip("。；;！？!?，, ")


def _points(f: Foresight) -> list[list[Sentence]]:
    d = f.draft
    first: list[Sentence] = []
    if d.planned:
        first.append(Sentence(f"草案拟于{cn_date(d.planned)}出台", ["草案出台日期"]))
    if d.channel:
        first.append(Sentence(f"拟通过「{d.channel}」发布", ["草案发布渠道"]))
    if d.affected:
        first.append(Sentence("涉及" + quoted_list(d.affected, "「」"), ["草案受影响群体"]))
    out = [first] if first else []
    said_before: set[str] = set()
    for number, paragraph in enumerate(d.paragraphs[:MAX_POINTS], 1):
        lead = sentences(paragraph)[0] if sentences(paragraph) else paragraph
        label = next((i.label for i in INTERESTS if any(w in lead for w in i.words)), "")
        said = "草案还规定" if label in said_before else f"关于{label}，草案规定" if label else "草案提出"
        said_before.add(label)
        out.append([Sentence(f"{said}：「{_unquote(lead)}」", [f"草案第{number}段"])])
    return out


def _risk(f: Foresight) -> list[Block]:
    judged = f"研判：风险等级为{f.grade}"
    judged += f"，参照相似历史事件，出台后舆情可能达到{f.expected_level}级" if f.expected_level else ""
    head = [Sentence(judged)] + ([Sentence(f"研判：{_unquote(f.history_note)}")] if f.history_note else [])
    reasons = [[Sentence(r.text, r.cites)] for r in f.reasons]
    blocks = [Block("", [head]), Block("研判依据", reasons or [[Sentence("研判：草案未见涉及群众切身利益的用语")]])]
    if f.history.events:
        events = []
        for e in f.history.events:
            para = [Sentence(f"历史事件「{e.title}」最高达到{e.level}级，共 {e.item_count} 条帖文、{e.source_count} 个信源，"
                             f"负面帖文占 {round(100 * e.negative_share)}%", [f"事件#{e.id}"])]
            para += [Sentence(f"其中帖文「{_unquote(it.title)}」", [f"条目#{it.id}"]) for it in e.items[:2] if it.title]
            events.append(para)
        blocks.append(Block("参照的相似历史事件", events))
    return blocks


def _concerns(f: Foresight) -> list[Block]:
    if not f.concerns:
        return [Block("", [[Sentence("研判：库中没有可参照的历史帖文，不列预计关切；出台后按实际关切及时补充回应口径")]])]
    events = [f"事件#{e.id}" for e in f.history.events]
    blocks = []
    for c in f.concerns[:MAX_CONCERNS]:
        para = [Sentence(f"相似历史事件中有 {c.post_count} 条帖文反映此类关切", events)]
        para += [Sentence(f"网民曾称：「{_unquote(e.quote)}」", [f"条目#{e.item_id}"]) for e in c.evidence]
        if c.answer:
            where = "草案标题" if c.answer.paragraph == 0 else f"草案第{c.answer.paragraph}段"
            reply = [Sentence(f"回应口径：草案明确，「{_unquote(c.answer.quote)}」", [where]),
                     Sentence("建议据此原文解读，不作草案以外的承诺")]
        else:
            reply = [Sentence("建议：草案未就此作出说明，出台前由主管科室补充回应口径，未经核实不对外表态")]
        blocks.append(Block(c.question, [para, reply]))
    return blocks


def _speakers(f: Foresight, profile: Profile) -> list[list[Sentence]]:
    out = [[Sentence(f"建议由{s['name']}（{s['head']}）作为回应主体对外发声，{s['why']}，谁主管谁发声")] for s in f.sections]
    office = profile.coordinator
    out.append([Sentence(f"建议由{office.name}统筹协调，会同宣传部门把关口径")])
    if f.expected_level in ("重大", "特别重大"):
        lead = profile.bureau.principal_leader
        out.append([Sentence(f"建议如舆情达到重大以上，由主要负责同志{lead.name}（{lead.title}）牵头回应")])
    return out


def _channels(f: Foresight, profile: Profile) -> list[list[Sentence]]:
    name = profile.bureau.name
    out = [[Sentence(f"建议首先在{name}门户网站（政府网站）发布政策原文及解读")],
           [Sentence("建议随后通过政务新媒体同步转发，置顶答问，及时回复留言")]]
    if f.grade in PRESS_GRADES or f.expected_level in ("较大", "重大", "特别重大"):
        out.append([Sentence("建议在出台当日举行新闻发布会或吹风会，由回应主体解读并答问")])
    else:
        out.append([Sentence("建议如舆情升温，再举行新闻发布会")])
    if f.draft.channel and f.draft.channel not in CHANNELS:
        out.append([Sentence(f"建议草案拟定的「{f.draft.channel}」与上述渠道同步发布", ["草案发布渠道"])])
    return out


def _briefings(f: Foresight, profile: Profile) -> list[list[Sentence]]:
    named = [d.name for d in profile.departments if d.kind in ("宣传部", "网信办")]
    out = [[Sentence(f"建议出台前将本预案及回应口径通报{'、'.join(named)}")]]
    petitions = [d.name for d in profile.departments if d.kind == "信访"]
    if petitions and any(c.key in ("fairness", "livelihood", "fees") for c in f.concerns):
        out.append([Sentence(f"建议同时告知{'、'.join(petitions)}，做好来信来访接待准备")])
    return out


def _triggers(f: Foresight) -> list[list[Sentence]]:
    events = f.history.events
    volume = max([ESCALATE_MIN_POSTS] + [e.item_count // 2 for e in events])
    return [[Sentence(f"建议出台后 24 小时内相关帖文超过 {volume} 条时，升级处置并报告分管领导")],
            [Sentence("建议出现聚集、维权动员或拉横幅等线索时，立即报告并通报公安、信访部门")],
            [Sentence("建议中央、省级媒体报道或转载时，升级为重大舆情，按时限发布权威信息")],
            [Sentence("建议出现不实信息时，会同网信部门及时澄清")]]


def _sources(f: Foresight) -> list[tuple[str, str]]:
    d = f.draft
    out = [("草案标题", d.title)]
    out += [(f"草案第{n}段", p) for n, p in enumerate(d.paragraphs, 1)]
    if d.affected:
        out.append(("草案受影响群体", "；".join(d.affected)))
    if d.planned:
        out.append(("草案出台日期", cn_date(d.planned)))
    if d.channel:
        out.append(("草案发布渠道", d.channel))
    for e in f.history.events:
        out.append((f"事件#{e.id}", f"{e.title}（{e.level}，{e.item_count} 条帖文）"))
    items = {ev.item_id: (ev.title, ev.url) for c in f.concerns for ev in c.evidence}
    items.update({it.id: (it.title, it.url) for e in f.history.events for it in e.items})
    for item_id in sorted(items):
        title, url = items[item_id]
        out.append((f"条目#{item_id}", f"{title}　{url}".strip("　")))
    return out


def build_plan(f: Foresight, profile: Profile, issued: date) -> Plan:
    parts = [
        Part("政策要点", [Block("", _points(f))]),
        Part("舆情风险研判", _risk(f)),
        Part("预计关切及回应口径", _concerns(f)),
        Part("回应主体", [Block("", _speakers(f, profile))]),
        Part("发布渠道及顺序", [Block("", _channels(f, profile))]),
        Part("事前通报", [Block("", _briefings(f, profile))]),
        Part("升级处置条件", [Block("", _triggers(f))]),
    ]
    return Plan(title=f"关于《{f.draft.title}》的舆情风险评估及解读回应预案", bureau=profile.bureau.name,
                issued=issued, parts=parts, sources=_sources(f))


def check_cited(plan: Plan) -> list[str]:
    """Sentences that state something without a citation (must be none; the renderer refuses them)."""
    return [s.text for p in plan.parts for b in p.blocks for para in b.paragraphs for s in para
            if not s.cites and not s.text.startswith(("研判", "建议"))]


__all__ = ["Block", "Part", "Plan", "Sentence", "build_plan", "check_cited", "cn_date", "where_in_draft"]

"""The one current account of an event (事件概况): what every document says about it.

Gathered from the event's items as they stand: the latest figures (deaths, injured, missing,
trapped) with the source and time of each, the earlier figures as a progression, the title
from the most authoritative recent report, the places at the finest level, who reported
first, the public's concerns, and the category in the national classification
(国家突发公共事件总体应急预案: 自然灾害、事故灾难、公共卫生事件、社会安全事件) beside the
国办发〔2016〕61号 categories. The 专报, 续报, 终报, 要情专报 and the report all read it, so no
two documents say different things.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.levels import Category, Tier
from yuqing.models import Event, Item, Source

from .dates import clock_time, cn_short

FIGURE_KINDS = (("deaths", "死亡"), ("missing", "失联"), ("trapped", "被困"), ("injured", "受伤"))
TIER_RANK: dict[str, int] = {Tier.CENTRAL: 0, Tier.GOVERNMENT: 1, Tier.PROVINCIAL: 2, Tier.LOCAL: 3, Tier.SOCIAL: 4, Tier.FORUM: 5}
RECENT = timedelta(hours=6)  # "recent" for the title: reports within six hours of the latest

# 国家突发公共事件总体应急预案 §1.3, checked in this order: a coal-mine flooding (透水) is an
# accident, not a flood; a forest fire is a natural disaster, a building fire an accident.
NATIONAL = (
    ("事故灾难", ("煤矿", "矿井", "井下", "矿难", "透水", "瓦斯", "冒顶", "爆炸", "危化品", "危险化学品", "泄漏",
                 "尾矿库", "交通事故", "车祸", "相撞", "追尾", "侧翻", "坍塌", "塌楼", "触电", "中毒窒息", "生产安全事故",
                 "起火", "失火", "火灾")),
    ("自然灾害", ("森林火灾", "山火", "草原火灾", "洪水", "洪涝", "暴雨", "内涝", "山洪", "泥石流", "地震", "滑坡",
                 "崩塌", "地面塌陷", "干旱", "旱情", "冰雹", "雪灾", "台风", "大风", "寒潮")),
    ("公共卫生事件", ("疫情", "传染病", "食物中毒", "食品安全", "不明原因疾病", "群体性不明原因")),
    ("社会安全事件", ("群体性事件", "聚集", "恐怖", "刑事案件", "打砸", "围堵", "治安")),
)
NATURAL_FIRST = ("森林火灾", "山火", "草原火灾")
NATIONAL_BY_TOPIC = {"production_safety": "事故灾难", "traffic_accident": "事故灾难", "fire": "事故灾难",
                     "flood_drought": "自然灾害", "earthquake_geology": "自然灾害", "disaster_relief": "自然灾害"}

CONCERNS = (
    ("质疑瞒报、谎报", ("瞒报", "谎报", "隐瞒", "捂盖子", "另有隐情", "内幕")),
    ("要求公开信息", ("公开", "真相", "通报", "说清楚", "给个说法")),
    ("关注救援进展", ("救援进展", "救援", "搜救", "等消息", "生还")),
    ("关注伤亡人数", ("死亡", "遇难", "伤亡", "失联", "被困")),
    ("追问事故原因与责任", ("原因", "责任", "追责", "问责", "违规", "违法生产")),
    ("诉求与维权", ("赔偿", "补偿", "维权", "讨说法", "欠薪", "家属聚集")),
    ("批评部门不作为", ("不作为", "慢作为", "推诿")),
)


@dataclass
class Figure:
    """One figure as reported: 12 人死亡（16:16 山西日报）."""

    kind: str          # deaths | missing | trapped | injured
    label: str         # 死亡
    value: int
    source: str        # 山西日报
    tier: str          # provincial
    at: datetime

    def describe(self, tz: str | ZoneInfo) -> str:
        return f"{self.value} 人{self.label}（{clock_time(self.at, tz)} {self.source}）"


@dataclass
class Concern:
    label: str
    count: int


@dataclass
class EventAccount:
    """The event as every document tells it."""

    event_id: int
    title: str
    level: str
    first_seen_at: datetime
    first_published_at: datetime | None
    first_source: str
    first_tier: str
    places: list[str]
    national_category: str
    categories: list[str]          # 61号 categories, in Chinese
    figures: dict[str, Figure] = field(default_factory=dict)        # kind → latest
    progressions: dict[str, list[Figure]] = field(default_factory=dict)  # kind → each change, oldest first
    concerns: list[Concern] = field(default_factory=list)
    rumour_cues: list[str] = field(default_factory=list)
    item_count: int = 0
    unique_count: int = 0
    source_count: int = 0
    tiers: dict[str, int] = field(default_factory=dict)   # tier label → items
    summary: str = ""

    @property
    def fingerprint(self) -> str:
        """What a 续报 reports: the level and the latest figures (a change in either is news)."""
        figures = ",".join(f"{k}={f.value}" for k, f in sorted(self.figures.items()))
        return f"{self.level}|{figures}"

    def casualty_sentence(self, tz: str | ZoneInfo) -> str:
        """据山西日报（省级媒体）12月1日16时16分报道，事故已致 12 人死亡、2 人失联."""
        if not self.figures:
            return ""
        latest = max(self.figures.values(), key=lambda f: f.at)
        parts = "、".join(f"{f.value} 人{f.label}" for f in self.figures.values())
        return (f"据{latest.source}（{tier_label(latest.tier)}）{cn_short(latest.at, tz)}报道，"
                f"事件已致 {parts}")

    def progression_sentence(self, tz: str | ZoneInfo) -> str:
        """3 人死亡（14:14 山西日报）→ 12 人死亡（16:16 山西日报）, per kind that changed."""
        lines = [" → ".join(f.describe(tz) for f in steps) for steps in self.progressions.values() if len(steps) > 1]
        return "；".join(lines)


def tier_label(tier: str) -> str:
    try:
        return Tier(tier).label
    except ValueError:
        return "其他来源"


def category_label(value: str) -> str:
    try:
        return Category(value).label.replace("突发事件/自然灾害", "突发事件")
    except ValueError:
        return ""


def _source_names(s: Session, items: list[Item]) -> dict[int, str]:
    ids = {i.source_id for i in items if i.source_id}
    if not ids:
        return {}
    return dict(s.execute(select(Source.id, Source.name).where(Source.id.in_(ids))).all())


def _who(item: Item, names: dict[int, str]) -> str:
    if item.tier in (Tier.CENTRAL, Tier.PROVINCIAL, Tier.LOCAL, Tier.GOVERNMENT):
        return names.get(item.source_id or 0) or item.author or item.platform or "网络媒体"
    platform = item.platform or names.get(item.source_id or 0) or "网络"
    return f"{platform}网民" if item.tier == Tier.SOCIAL else f"{platform}帖文"


def national_category(text: str, topics: list[str]) -> str:
    if any(word in text for word in NATURAL_FIRST):
        return "自然灾害"
    for name, words in NATIONAL:
        if any(word in text for word in words):
            return name
    for topic in topics:
        if topic in NATIONAL_BY_TOPIC:
            return NATIONAL_BY_TOPIC[topic]
    return "社会安全事件" if not topics else "事故灾难"


def _finest(places: list[object]) -> list[str]:
    coded = [(str(p.get("code", "")), str(p.get("name", ""))) for p in places if isinstance(p, dict)]
    if not coded:
        return [str(p) for p in places if isinstance(p, str)]
    longest = max(len(code) for code, _ in coded)
    return list(dict.fromkeys(name for code, name in coded if len(code) == longest and name))


def _figures(items: list[Item], names: dict[int, str]) -> tuple[dict[str, Figure], dict[str, list[Figure]]]:
    latest: dict[str, Figure] = {}
    steps: dict[str, list[Figure]] = {}
    dated = sorted((i for i in items if i.casualties), key=lambda i: i.published_at or i.fetched_at)
    for item in dated:
        for kind, label in FIGURE_KINDS:
            value = int((item.casualties or {}).get(kind) or 0)
            if not value:
                continue
            figure = Figure(kind, label, value, _who(item, names), item.tier, item.published_at or item.fetched_at)
            previous = latest.get(kind)
            # Counts rise as reports come in; a lower count later is an older figure repeated.
            if previous is None or value > previous.value:
                latest[kind] = figure
                steps.setdefault(kind, []).append(figure)
    order = [k for k, _ in FIGURE_KINDS]
    return ({k: latest[k] for k in order if k in latest}, {k: steps[k] for k in order if k in steps})


def _title(event: Event, originals: list[Item]) -> str:
    titled = [i for i in originals if i.title.strip()]
    if not titled:
        return event.title
    newest = max(i.published_at or i.fetched_at for i in titled)
    recent = [i for i in titled if (i.published_at or i.fetched_at) >= newest - RECENT]
    best = min(recent, key=lambda i: (TIER_RANK.get(i.tier, 9), -(i.published_at or i.fetched_at).timestamp()))
    if TIER_RANK.get(best.tier, 9) >= TIER_RANK[Tier.SOCIAL]:
        return event.title  # no outlet has named it: keep the event's own title
    return best.title.strip()


def _concerns(texts: list[str]) -> list[Concern]:
    out = []
    for label, words in CONCERNS:
        n = sum(1 for t in texts if any(w in t for w in words))
        if n:
            out.append(Concern(label, n))
    return sorted(out, key=lambda c: -c.count)


def event_account(s: Session, event_id: int) -> EventAccount:
    """The current account of one event, from its items as they stand now."""
    event = s.get(Event, event_id)
    if event is None:
        raise LookupError(f"事件 {event_id} 不存在")
    items = list(s.scalars(select(Item).where(Item.event_id == event_id)))
    names = _source_names(s, items)
    originals = [i for i in items if i.duplicate_of_id is None]
    first = min(items, key=lambda i: i.published_at or i.fetched_at, default=None)
    latest, steps = _figures(items, names)
    texts = [f"{i.title} {i.text}" for i in originals]
    tiers: dict[str, int] = {}
    for item in sorted(items, key=lambda i: TIER_RANK.get(i.tier, 9)):
        tiers[tier_label(item.tier)] = tiers.get(tier_label(item.tier), 0) + 1
    rumour = [w for w in ("网传", "据说", "听说", "内幕", "另有隐情", "未经证实") if any(w in t for t in texts)]
    place_source = event.places or next((i.places for i in items if i.places), [])
    return EventAccount(
        event_id=event.id, title=_title(event, originals), level=event.level, first_seen_at=event.first_seen_at,
        first_published_at=event.first_published_at or (first.published_at if first else None),
        first_source=_who(first, names) if first else "", first_tier=first.tier if first else "",
        places=_finest(place_source), national_category=national_category(" ".join([event.title, *texts]),
                                                                           list(event.topics or [])),
        categories=[c for c in (category_label(x) for x in event.categories or []) if c],
        figures=latest, progressions=steps, concerns=_concerns(texts), rumour_cues=rumour,
        item_count=event.item_count or len(items), unique_count=event.unique_count or len(originals),
        source_count=event.source_count, tiers=tiers, summary=event.summary)

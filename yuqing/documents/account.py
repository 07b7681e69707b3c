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
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yuqing.levels import Category, Level, Tier
from yuqing.models import Event, Item

from . import current
from .current import FIGURE_KINDS, TIER_RANK, progression
from .dates import clock_time, cn_date, cn_short, cn_time

KEY_POSTS = 8  # 重点帖文 in the 专报, on the event page and in the report; an alert mail quotes the first 3

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
        """What a 续报 reports: the level and the latest figures (a change in either is news).
        Kept with each issued 专报/续报 in the register; :func:`read_fingerprint` reads it back."""
        figures = ",".join(f"{k}={f.value}" for k, f in sorted(self.figures.items()))
        return f"{self.level}|{figures}"

    def changes_since(self, fingerprint: str, tz: str | ZoneInfo, *, since: datetime | None = None) -> list[str]:
        """What changed since an earlier document reported ``fingerprint``, as the 续报 opens:
        事件等级由较大升为重大, 死亡人数由 3 人升至 12 人（16时16分 山西日报）, 新报告被困 8 人（…）.
        Each figure names the report that gave it, by its time alone on ``since``'s day."""
        level, figures = read_fingerprint(fingerprint)
        out = []
        if level and level != self.level:
            try:
                move = "升为" if Level.parse(self.level) > Level.parse(level) else "降为"
            except ValueError:  # a level the register kept and this version no longer knows
                move = "调整为"
            out.append(f"事件等级由{level}{move}{self.level}")
        same_day = since is not None and cn_date(since, tz)
        for kind, label in FIGURE_KINDS:
            now = self.figures.get(kind)
            if now is None or figures.get(kind) == now.value:
                continue
            when = cn_time(now.at, tz) if same_day == cn_date(now.at, tz) else cn_short(now.at, tz)
            source = f"（{when} {now.source}）"
            before = figures.get(kind)
            if before is None:
                out.append(f"新报告{label} {now.value} 人{source}")
            else:
                move = "升至" if now.value > before else "降至"
                out.append(f"{label}人数由 {before} 人{move} {now.value} 人{source}")
        return out

    def casualty_sentence(self, tz: str | ZoneInfo) -> str:
        """据山西日报（省级媒体）12月1日16时16分报道，事件已致 12 人死亡、2 人失联."""
        return casualty_sentence(self.figures, tz)

    def progression_sentence(self, tz: str | ZoneInfo) -> str:
        """3 人死亡（14:14 山西日报）→ 12 人死亡（16:16 山西日报）, per kind that changed."""
        return progression_sentence(self.progressions, tz)


def read_fingerprint(fingerprint: str) -> tuple[str, dict[str, int]]:
    """The level and figures an :attr:`EventAccount.fingerprint` holds ("重大|deaths=12,missing=2");
    ("", {}) for one that is not an account's (a 终报's "final-0")."""
    level, bar, rest = fingerprint.partition("|")
    if not bar:
        return "", {}
    figures = {}
    for pair in filter(None, rest.split(",")):
        kind, _, value = pair.partition("=")
        if value.isdigit():
            figures[kind] = int(value)
    return level, figures


def casualty_sentence(figures: dict[str, Figure], tz: str | ZoneInfo) -> str:
    """据山西日报（省级媒体）12月1日16时16分报道，事件已致 12 人死亡、2 人失联; empty without figures."""
    if not figures:
        return ""
    # Each figure with the report that gave it, the newest report first: 「据山西日报…报道，事件已致
    # 12 人死亡、2 人失联、8 人被困」 gave the paper the 8 trapped of an earlier local report.
    reports: dict[tuple[str, datetime], list[Figure]] = {}
    for f in figures.values():
        reports.setdefault((f.source, f.at), []).append(f)
    newest = sorted(reports.items(), key=lambda r: r[0][1], reverse=True)
    out = []
    for n, ((source, at), told) in enumerate(newest):
        parts = "、".join(f"{f.value} 人{f.label}" for f in told)
        said = f"{source}（{tier_label(told[0].tier)}）{cn_short(at, tz)}报道"
        if n == 0:
            out.append(f"据{said}，事件已致 {parts}")
        else:
            out.append(f"{'此前' if at < newest[0][0][1] else '另'}据{said}，{parts}")
    return "，".join(out)


def progression_sentence(progressions: dict[str, list[Figure]], tz: str | ZoneInfo) -> str:
    lines = [" → ".join(f.describe(tz) for f in steps) for steps in progressions.values() if len(steps) > 1]
    return "；".join(lines)


def figures_line(s: Session, event: Event, tz: str | ZoneInfo) -> str:
    """The latest figures and how they rose, from the stored account (pages and alert mails):
    据山西日报（省级媒体）…报道，事件已致 12 人死亡、5 人失联（3 人死亡（14:14 山西日报） → 12 人死亡（16:16 山西日报））."""
    latest, steps = _figures(current.stored_or_counted(s, event)[0])
    rise = progression_sentence(steps, tz)
    return casualty_sentence(latest, tz) + (f"（{rise}）" if rise else "")


def key_posts(s: Session, event_id: int, limit: int = KEY_POSTS) -> list[Item]:
    """重点帖文: originals (not folded copies), the most authoritative tier first, then the most
    spread (copies folded into it plus reposts, comments and likes), then the earliest.

    The one choice the 专报, the alert mail, the digest, the event page and the report all list,
    so no two of them name different posts. Picked in Python from a narrow scan on the event
    index: with ``duplicate_of_id IS NULL`` in SQL, SQLite walked the duplicate index over the
    whole table (37 ms at 100,000 items)."""
    rows = s.execute(select(Item.id, Item.duplicate_of_id, Item.tier, Item.duplicate_count, Item.engagement,
                            func.coalesce(Item.published_at, Item.fetched_at))
                     .where(Item.event_id == event_id)).all()

    def spread(copies: int | None, engagement: dict[str, object] | None) -> float:
        return (copies or 0) + sum(float(v) for v in (engagement or {}).values()
                                   if isinstance(v, int | float) and not isinstance(v, bool))

    originals = sorted((r for r in rows if r[1] is None),
                       key=lambda r: (TIER_RANK.get(r[2], 9), -spread(r[3], r[4]), r[5], r[0]))
    ids = [r[0] for r in originals[:limit]]
    items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(ids)))}
    return [items[i] for i in ids if i in items]


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


def _figures(stored: dict[str, Any]) -> tuple[dict[str, Figure], dict[str, list[Figure]]]:
    """The stored figures as they changed (current.progression): the last of each kind is its latest."""
    labels = dict(FIGURE_KINDS)
    steps = {kind: [Figure(kind, labels[kind], int(f["value"]), str(f["source"]), str(f["tier"]),
                           datetime.fromisoformat(f["at"])) for f in progression(kind, list(chain))]
             for kind, chain in (stored.get("figures") or {}).items() if chain and kind in labels}
    return {kind: chain[-1] for kind, chain in steps.items()}, steps


def _concerns(texts: list[str]) -> list[Concern]:
    out = []
    for label, words in CONCERNS:
        n = sum(1 for t in texts if any(w in t for w in words))
        if n:
            out.append(Concern(label, n))
    return sorted(out, key=lambda c: -c.count)


def event_account(s: Session, event_id: int) -> EventAccount:
    """The current account of one event: the stored account (title, figures, first report, kept
    by analysis as items arrive) with the counts, concerns and places of its items as they stand."""
    event = s.get(Event, event_id)
    if event is None:
        raise LookupError(f"事件 {event_id} 不存在")
    items = list(s.scalars(select(Item).where(Item.event_id == event_id)))
    stored, title = current.stored_or_counted(s, event)
    originals = [i for i in items if i.duplicate_of_id is None]
    latest, steps = _figures(stored)
    first = stored.get("first") or {}
    texts = [f"{i.title} {i.text}" for i in originals]
    tiers: dict[str, int] = {}
    for item in sorted(items, key=lambda i: TIER_RANK.get(i.tier, 9)):
        tiers[tier_label(item.tier)] = tiers.get(tier_label(item.tier), 0) + 1
    rumour = [w for w in ("网传", "据说", "听说", "内幕", "另有隐情", "未经证实") if any(w in t for t in texts)]
    place_source = event.places or next((i.places for i in items if i.places), [])
    first_at = datetime.fromisoformat(first["at"]) if first else None
    return EventAccount(
        event_id=event.id, title=title, level=event.level, first_seen_at=event.first_seen_at,
        first_published_at=event.first_published_at or first_at,
        first_source=str(first.get("source", "")), first_tier=str(first.get("tier", "")),
        places=_finest(place_source), national_category=national_category(" ".join([title, *texts]),
                                                                           list(event.topics or [])),
        categories=[c for c in (category_label(x) for x in event.categories or []) if c],
        figures=latest, progressions=steps, concerns=_concerns(texts), rumour_cues=rumour,
        item_count=event.item_count or len(items), unique_count=event.unique_count or len(originals),
        source_count=event.source_count, tiers=tiers, summary=event.summary)

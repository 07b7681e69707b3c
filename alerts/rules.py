"""预警规则 (alert rules) from ``profile.alerts``: which events deserve the monitor's attention.

An event alerts when any rule holds; each rule that holds gives one reason (shown with the
alert, kept for review):
- relevance and level thresholds (``relevance_threshold``, ``min_level``);
- a watch word (``profile.watch_words``) found in the event: always alerts;
- a velocity spike: items in the last hour at least ``velocity_factor`` times the event's own
  baseline (a baseline under one item an hour counts as one, so a new event's first few
  items are not a "spike"), for an event that concerns the bureau and is not placed outside its
  jurisdiction (a flood abroad spreading fast is not the bureau's response pressure);
- a high-tier source (``high_tiers``, e.g. central media) reporting on the bureau: an item of
  that tier in the bureau's jurisdiction and remit, or naming the bureau;
- a hot list (a ``hotlist`` source: 微博热搜, 百度热搜, 头条热榜 ...) ranking an entry about the
  event within its top ``hotlist_rank`` now: the fastest sign that a local incident spreads
  beyond the county (crawlers/hotlists.py matches entries to events).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from yuqing.levels import Level, Tier
from yuqing.models import Event, Item
from yuqing.profile import Profile


class HotMention(NamedTuple):
    """An entry about the event on a hot list now (热榜在榜): the list's name and the rank."""

    list_name: str
    rank: int


def spike_floor(event: Event) -> float:
    """The hourly baseline a spike is measured against: the event's own, at least one item an
    hour, so a new event's first few items are not a "spike"."""
    return max(event.baseline_velocity or 0.0, 1.0)


def _concerns_bureau(event: Event, profile: Profile) -> bool:
    return bool(event.in_remit) or event.relevance >= profile.relevance.threshold


def placed_outside(event: Event, items: Iterable[Item]) -> bool:
    """事发地在辖区外: the event names no place of the jurisdiction and an item places it elsewhere
    (analysis keeps the outside places in ``item.flags["outside"]``)."""
    return not event.in_jurisdiction and any((item.flags or {}).get("outside") for item in items)


def _names_bureau(item: Item, profile: Profile) -> bool:
    names = [n for n in (profile.bureau.name, profile.bureau.short_name) if n]
    text = f"{item.title}\n{item.text}"
    return any(n in text for n in names)


def evaluate(event: Event, items: Iterable[Item], profile: Profile, hot: Iterable[HotMention] = ()) -> list[str]:
    """Reasons this event alerts (empty: it does not). ``hot``: its entries on hot lists now."""
    rules = profile.alerts
    items = list(items)
    reasons: list[str] = []
    level = Level.parse(event.level or Level.GENERAL)
    if event.relevance >= rules.relevance_threshold and level >= rules.min_level:
        # A sentence for the reader (leaders get these): no scores, no thresholds.
        reasons.append(f"与本局职责相关，研判等级为{level.value}")
    words = set(event.watch_words or [])
    words |= {w for w in profile.watch_words if w in event.title or w in (event.summary or "")}
    if words:
        reasons.append(f"命中关注词：{'、'.join(sorted(words))}")
    baseline = spike_floor(event)
    if _concerns_bureau(event, profile) and not placed_outside(event, items) \
            and event.velocity >= baseline * rules.velocity_factor:
        reasons.append(f"传播加速：近 1 小时 {event.velocity:g} 条，为平时每小时 {baseline:g} 条的 "
                       f"{event.velocity / baseline:.1f} 倍")
    tiers = {t.value for t in rules.high_tiers}
    for item in items:
        if item.tier not in tiers:
            continue
        ours = bool(item.in_jurisdiction and item.in_remit) or _names_bureau(item, profile)
        if ours:
            reasons.append(f"{Tier(item.tier).label}报道：{item.title or item.url}")
            break
    ranked = _best_ranks(hot, rules.hotlist_rank)
    if ranked:
        reasons.append("登上" + "、".join(f"{name}第{rank}位" for name, rank in ranked))
    return reasons


def _best_ranks(hot: Iterable[HotMention], top: int) -> list[tuple[str, int]]:
    """Each list's best rank for the event within its top ``top`` places, best first."""
    best: dict[str, int] = {}
    for name, rank in hot:
        if 0 < rank <= top:
            best[name] = min(rank, best.get(name, rank))
    return sorted(best.items(), key=lambda kv: (kv[1], kv[0]))

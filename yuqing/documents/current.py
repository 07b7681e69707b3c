"""The event's stored account (事件当前情况), kept up to date as analysis assigns items to it.

``events.account`` holds what must read the same on every page, mail and document: the title
from the most authoritative recent report, the latest figures (deaths, missing, trapped,
injured) with the source and time of each and their progression, and who reported first.
Analysis merges each batch's items once per event (:func:`apply`, in the transaction that
counts them: analysis/counting.py); the merge is incremental and idempotent, so a re-run or a
late batch gives what a recount of every item would, without reading the event's items again. ``event.title`` is set from it, so the pages
show the account's title too.

Stored form (JSON, times as UTC ISO strings)::

    {"figures": {"deaths": [{"value": 3, "source": "山西日报", "tier": "provincial", "at": "…"}, …]},
                # deaths, injured: record highs; missing, trapped: newest figures (see progression)
     "titles": {"2": {"title": "…", "tier": "provincial", "at": "…"}},   # newest per tier rank
     "first": {"source": "…", "tier": "…", "at": "…"}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.levels import Tier
from yuqing.models import Event, Item, Source

FIGURE_KINDS = (("deaths", "死亡"), ("missing", "失联"), ("trapped", "被困"), ("injured", "受伤"))
TIER_RANK: dict[str, int] = {Tier.CENTRAL: 0, Tier.GOVERNMENT: 1, Tier.PROVINCIAL: 2, Tier.LOCAL: 3, Tier.SOCIAL: 4,
                             Tier.FORUM: 5}
OUTLET_RANKS = TIER_RANK[Tier.SOCIAL]  # ranks below this are outlets, which may name the event
RECENT = timedelta(hours=6)  # "recent" for the title: reports within six hours of the latest
OUTLETS = (Tier.CENTRAL, Tier.PROVINCIAL, Tier.LOCAL, Tier.GOVERNMENT)


class Report(Protocol):
    """What the account reads of an item: an ORM item, or analysis's plain record of one."""

    title: str
    tier: str
    author: str
    platform: str
    source_id: int | None
    duplicate_of_id: int | None
    published_at: datetime | None
    fetched_at: datetime
    casualties: dict[str, Any]


def when(item: Report) -> datetime:
    """The time a report speaks for: its publication, or its fetch when it names none."""
    return item.published_at or item.fetched_at


def who(item: Report, names: Mapping[int, str]) -> str:
    """Who reported it, as a reader names them: 山西日报, 微博网民, 论坛帖文."""
    if item.tier in OUTLETS:
        return names.get(item.source_id or 0) or item.author or item.platform or "网络媒体"
    platform = item.platform or names.get(item.source_id or 0) or "网络"
    return f"{platform}网民" if item.tier == Tier.SOCIAL else f"{platform}帖文"


def _iso(item: Report) -> str:
    return when(item).astimezone(UTC).isoformat()  # one zone, so the strings sort as the times


def source_names(s: Session, items: Iterable[Report]) -> dict[int, str]:
    ids = {i.source_id for i in items if i.source_id}
    if not ids:
        return {}
    return dict(s.execute(select(Source.id, Source.name).where(Source.id.in_(ids))).all())


def _mark(item: Report, names: Mapping[int, str], **extra: Any) -> dict[str, Any]:
    return {**extra, "source": who(item, names), "tier": item.tier, "at": _iso(item)}


FALLING = {"missing", "trapped"}  # people are found or brought out: these counts go down too
KEPT_POINTS = 100  # a falling kind keeps its newest figures, whose changes make its progression


def _record_highs(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts rise as reports come in; a lower count later is an older figure repeated. The
    record highs of (stored record highs + new figures) are those of every figure ever seen."""
    out: list[dict[str, Any]] = []
    for step in sorted(steps, key=lambda f: f["at"]):
        if not out or step["value"] > out[-1]["value"]:
            out.append(step)
    return out


def _newest_points(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every distinct figure of a falling kind, newest :data:`KEPT_POINTS` (a union, so merging
    stays incremental and idempotent); :func:`progression` reads the changes from them."""
    distinct = {(f["at"], f["value"], f["source"]): f for f in steps}
    return [distinct[k] for k in sorted(distinct)][-KEPT_POINTS:]


def progression(kind: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The figures of one kind as they changed, the last being the latest (最新数字).

    Deaths and injuries only rise. Missing and trapped counts also fall as people are found or
    brought out, but only a news outlet's or a government site's later report lowers them; a
    post repeating an older figure does not."""
    if kind not in FALLING:
        return _record_highs(steps)
    out: list[dict[str, Any]] = []
    for step in sorted(steps, key=lambda f: f["at"]):
        if not out or step["value"] > out[-1]["value"] or (
                step["value"] < out[-1]["value"] and step["tier"] in OUTLETS):
            out.append(step)
    return out


def merge(account: Mapping[str, Any], items: Iterable[Report], names: Mapping[int, str]) -> dict[str, Any]:
    """The account with ``items`` merged in (pure; merging an item twice changes nothing)."""
    figures: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in (account.get("figures") or {}).items()}
    titles: dict[str, dict[str, Any]] = dict(account.get("titles") or {})
    first: dict[str, Any] | None = account.get("first")
    for item in items:
        at = _iso(item)
        if first is None or at < first["at"]:
            first = _mark(item, names)
        for kind, _label in FIGURE_KINDS:
            value = int((item.casualties or {}).get(kind) or 0)
            if value:
                figures.setdefault(kind, []).append(_mark(item, names, value=value))
        title = (item.title or "").strip()
        if title and item.duplicate_of_id is None:
            rank = str(TIER_RANK.get(item.tier, 9))
            if rank not in titles or at >= titles[rank]["at"]:
                titles[rank] = {"title": title[:500], "tier": item.tier, "at": at}
    order = [k for k, _ in FIGURE_KINDS]
    return {"figures": {k: _newest_points(figures[k]) if k in FALLING else _record_highs(figures[k])
                        for k in order if k in figures},
            "titles": titles, "first": first}


def best_title(account: Mapping[str, Any], fallback: str) -> str:
    """The newest report of the best tier among those within RECENT of the newest report; the
    event's own title while no outlet has named it."""
    titles = list((account.get("titles") or {}).items())
    if not titles:
        return fallback
    newest = max(datetime.fromisoformat(t["at"]) for _, t in titles)
    recent = [(int(rank), t) for rank, t in titles if datetime.fromisoformat(t["at"]) >= newest - RECENT]
    rank, best = min(recent, key=lambda r: (r[0], -datetime.fromisoformat(r[1]["at"]).timestamp()))
    return str(best["title"]) if rank < OUTLET_RANKS else fallback


class Accounted(Protocol):
    """What :func:`apply` changes of an event: an ORM event, or analysis's plain record of one."""

    account: dict[str, Any]
    title: str


def apply(event: Accounted, items: Iterable[Report], names: Mapping[int, str]) -> None:
    """Merge ``items`` into the event's stored account and retitle the event from it."""
    event.account = merge(event.account or {}, items, names)
    event.title = best_title(event.account, event.title)[:500]


def refresh_account(s: Session, event: Event) -> None:
    """Recount the account from every item of the event (items stored outside analysis: seeds)."""
    items = list(s.scalars(select(Item).where(Item.event_id == event.id)))
    event.account = {}
    apply(event, items, source_names(s, items))


def stored_or_counted(s: Session, event: Event) -> tuple[dict[str, Any], str]:
    """The event's account and title: as stored by analysis, or counted from its items for an
    event stored before accounts were kept (or by hand), without storing it."""
    if event.account:
        return event.account, event.title
    items = list(s.scalars(select(Item).where(Item.event_id == event.id)))
    counted = merge({}, items, source_names(s, items))
    return counted, best_title(counted, event.title)


def event_title(s: Session, event: Event) -> str:
    """The title every page, mail and document gives the event."""
    return event.title if event.account else stored_or_counted(s, event)[1]

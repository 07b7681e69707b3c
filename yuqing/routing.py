"""路由树 (the route tree): the profile's ``routing``, walked the way Alertmanager walks its routes.

In the core because two stages read it: the response workflow takes the departments an event
is referred to (报送) from its receivers, and the alerts take the notification timings of the
route an event follows (``group_wait_seconds``, ``group_interval_seconds``; a node without
them inherits its parent's, the root the profile's ``alerts`` defaults).

A node matches when every key in its ``match`` matches (a key matches when any of its values
does). From a matching node the children are tried in order; the first matching child wins
unless it says ``continue: true``, in which case the next siblings are tried too. A matching
node none of whose children match is itself the result. The receivers of every resulting
node, in order and without repeats, are the departments the event reaches.

Facts the matchers see (values are text, as in the profile):
``level`` the event's level; ``category`` its 61号/80号 categories; ``place`` place names and
区划代码 (a code prefix such as ``1405`` matches every place below it); ``tier`` the tiers of
the sources its items came from; ``in_remit``/``rumor``/``spans_sections``/``complaint``
``true``/``false`` (``rumor``: the event is 疑似不实信息, i.e. its rumour score reached the
profile's ``judgement.rumor_threshold`` with evidence); ``watch_word`` the watch words it matched (``true``/``false`` test for any);
``accusation`` kinds of accusation found (e.g. ``corruption``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yuqing.levels import Level
from yuqing.models import Event
from yuqing.profile import Profile, Route

BOOL_KEYS = ("in_remit", "rumor", "spans_sections", "complaint")


@dataclass
class Facts:
    """What routing knows about an event (or a hypothetical item in `yuqing route test`)."""

    level: str = Level.GENERAL.value
    category: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    in_remit: bool = True
    rumor: bool = False
    watch_word: list[str] = field(default_factory=list)
    spans_sections: bool = False
    accusation: list[str] = field(default_factory=list)
    complaint: bool = False

    def values(self, key: str) -> list[str]:
        value = getattr(self, key)
        if isinstance(value, bool):
            return ["true" if value else "false"]
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]


@dataclass(frozen=True)
class Timings:
    """分组时序 of a route: how long a new alert's first notification waits for the rest of its
    burst (group_wait), and the least time between two updates of one alert (group_interval)."""

    group_wait_seconds: int
    group_interval_seconds: int

    def under(self, route: Route) -> Timings:
        """This route's own timings where it gives them, else these (inherited)."""
        return Timings(
            self.group_wait_seconds if route.group_wait_seconds is None else route.group_wait_seconds,
            self.group_interval_seconds if route.group_interval_seconds is None else route.group_interval_seconds)


@dataclass
class RouteMatch:
    path: str          # e.g. routing.routes[0]
    description: str   # e.g. routing.routes[0] {level: 重大|特别重大}
    receivers: list[str]
    timings: Timings | None = None


def _key_matches(key: str, wanted: list[str], facts: Facts) -> bool:
    have = facts.values(key)
    if key == "level":
        return Level.parse(facts.level) in {Level.parse(w) for w in wanted}
    if key == "watch_word":
        flags = {w.lower() for w in wanted} & {"true", "false"}
        if flags and ("true" if have else "false") in flags:
            return True
        return bool(set(wanted) & set(have))
    if key == "place":
        return any(h == w or (w.isdigit() and h.isdigit() and h.startswith(w)) for h in have for w in wanted)
    if key in BOOL_KEYS:
        return have[0] in {w.lower() for w in wanted}
    return bool(set(wanted) & set(have))


def node_matches(route: Route, facts: Facts) -> bool:
    return all(_key_matches(key, wanted, facts) for key, wanted in route.match.items())


def describe(route: Route, path: str) -> str:
    if not route.match:
        return f"{path}（默认路由）"
    conds = ", ".join(f"{k}: {'|'.join(v)}" for k, v in route.match.items())
    return f"{path} {{{conds}}}" + ("（continue）" if route.continue_ else "")


def walk(route: Route, facts: Facts, path: str = "routing", inherited: Timings | None = None) -> list[RouteMatch]:
    """The matching leaves of the tree under ``route`` (which must itself match), each with
    its timings resolved from ``inherited`` down the path (None: no timings wanted)."""
    if not node_matches(route, facts):
        return []
    own = inherited.under(route) if inherited else None
    found: list[RouteMatch] = []
    for index, child in enumerate(route.routes):
        got = walk(child, facts, f"{path}.routes[{index}]", own)
        if got:
            found.extend(got)
            if not child.continue_:
                break
    return found or [RouteMatch(path, describe(route, path), list(route.receivers), own)]


def default_timings(profile: Profile) -> Timings:
    """The root's inheritance: the profile's ``alerts.group_wait_seconds`` and ``group_interval_seconds``."""
    return Timings(profile.alerts.group_wait_seconds, profile.alerts.group_interval_seconds)


def timings(profile: Profile, facts: Facts) -> Timings:
    """The timings an event's alert follows: of the routes it reaches (several with ``continue``),
    the shortest wait and the shortest interval, so the most urgent route sets the pace."""
    matches = [m.timings for m in walk(profile.routing, facts, inherited=default_timings(profile)) if m.timings]
    if not matches:  # the root itself did not match
        return default_timings(profile)
    return Timings(min(t.group_wait_seconds for t in matches), min(t.group_interval_seconds for t in matches))


def route(profile: Profile, facts: Facts) -> list[tuple[str, RouteMatch]]:
    """``[(department_key, the route that reached it)]``, first route per department."""
    out: dict[str, RouteMatch] = {}
    for match in walk(profile.routing, facts):
        for receiver in match.receivers:
            out.setdefault(receiver, match)
    return list(out.items())


def sections_for(profile: Profile, topics: list[str]) -> list[str]:
    """Keys of the sections whose remit covers any of ``topics`` (谁主管谁发声), coordinator excluded."""
    wanted = set(topics)
    return [s.key for s in profile.sections if not s.coordinator and wanted & set(s.remits)]


def facts_for_event(profile: Profile, event: Event, tiers: list[str]) -> Facts:
    flags = event.flags or {}
    places: list[str] = []
    for p in event.places or []:
        if isinstance(p, dict):
            places += [str(p.get("name", "")), str(p.get("code", ""))]
        else:
            places.append(str(p))
    categories = [str(c) for c in event.categories or []]
    accusation = flags.get("accusation") or []
    if isinstance(accusation, str):
        accusation = [accusation]
    return Facts(
        level=Level.parse(event.level).value,
        category=categories,
        place=[p for p in places if p],
        tier=sorted(set(tiers)),
        in_remit=bool(event.in_remit),
        # 疑似不实信息 only with evidence (analysis/counting.py: score ≥ profile.judgement.rumor_threshold
        # and a refuting authority or the rumour pattern); a rumour score alone routes nothing.
        rumor="false_information" in categories,
        watch_word=[str(w) for w in event.watch_words or []],
        spans_sections=len(sections_for(profile, list(event.topics or []))) >= 2,
        accusation=[str(a) for a in accusation],
        complaint=bool(flags.get("complaint")),
    )

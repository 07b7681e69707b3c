"""舆情事件归并 (grouping items into events), incrementally within a time window.

Look-up per new item uses indexes, never a scan of the window:
- a near-duplicate joins its original's event;
- an inverted index of (place code, remit topic) keys finds events about the same kind of
  incident at the same place. Each shared place votes once, by how precisely it places the
  incident (a town 2, a county, a city or a place abroad 1, a province ½; a city with its
  province is one place), and a shared kind of hazard (火灾, 地震 …) adds 1 where a place is
  shared too; two votes join. So a town does on its own, a county, a city or a country needs the
  same hazard or a second place, and a province never suffices (two fires in one province on
  one day, 绵阳 and 宜宾, had joined on 四川 + fire + rescue: each topic had voted); a join on an
  area and a hazard alone holds within a day and not across different districts of the area
  (:meth:`Grouper.same_area_incident`);
- an LSH over incident signatures (salient words) finds differently worded reports;
- an item joins an event only if it is the same incident: not when both name towns (乡镇 or
  finer) and share none, nor when both name a kind of hazard (透水, 爆炸 …) and share none. Two
  incidents in one county on one day stay two events, whatever county words they share.
The index lives in memory and is rebuilt from the database for the recent window
(:meth:`Grouper.load` in :mod:`.jobs`), so every worker process sees the same state.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from datasketch import MinHash

from yuqing.profile import Judgement

from .folding import BandIndex, FoldIndex, Hashes, HashRows
from .places import region_of
from .rules import HAZARDS

WINDOW = timedelta(days=7)        # an event takes new items while seen within this window
# Signature candidates weighed per item at most: words common to many posts can make one LSH
# bucket hold much of the window, and weighing all of it cost more than the rest of analysis.
MAX_CANDIDATES = 1000


@dataclass(slots=True)
class Entry:
    item_id: int
    at: datetime
    event_id: int
    keys: tuple[tuple[str, str], ...] = ()  # a tuple, not a set: kept for the whole window


KIND = "~"  # place slot of a hazard-kind key: never votes, only tells incidents apart
ABROAD = "@"  # prefix of a place outside the jurisdiction, by name (they have no division code)
TOWN_CODE_LEN = 6  # codes longer than a county's six digits are towns (乡镇街道) or finer


# 震感: a quake felt where the reporter is, its epicentre often provinces away. Reports from
# 山西, 重庆 and 内蒙古 of the 汶川 quake name only their own province and cities (「山西：感到地震后
# 很多人跑到户外」); the places they share with the quake's reports, a province in a list of those
# that felt it or none, are too few to join. Such a felt report, naming no county of its own
# provinces (no epicentre of its own), joins the quake reported within the day: the one sharing
# the most of its places, else the most reported (a quake felt that far is reported by many).
# A day's fires or crashes in one province are many incidents; a day's widely felt quake is one.
FELT_WORDS = ("震感",)
FELT = (KIND, "felt")
FELT_DAY = timedelta(hours=24)
FELT_MIN_REPORTS = 2
# A join resting on a shared county, city or country and the same hazard, with no town and no
# wording in common, holds within a day only: 广州 has a fire most weeks, and the same-city-and-fire
# rule had joined two of them, days and districts apart, into one event.
AREA_DAY = timedelta(hours=24)
# How long before an item an event was last reported (negative: after it), by event id.
Gap = Callable[[int], timedelta]
# Merging stored events: of a pair found alike by their keys, the newest items of each side
# are tried against the other (the rule that joins an item to an event), at most this many.
MERGE_TRIES = 10


def incident_keys(places: list[dict], topics: list[str], keywords: Iterable[str] = (),
                  outside: Iterable[str] = ()) -> set[tuple[str, str]]:
    """(place code, topic) keys, (``@`` + name, topic) keys of the places outside the
    jurisdiction where the incident is placed (a quake in 印尼 reported by several papers is one
    incident there), plus (``~``, hazard kind) keys from the item's remit words, and ``FELT``
    for a felt report (震感)."""
    keys = {(p["code"], t) for p in places for t in topics}
    keys |= {(ABROAD + name, t) for name in outside for t in topics}
    words = set(keywords)
    keys |= {(KIND, HAZARDS[w]) for w in words if w in HAZARDS}
    if words.intersection(FELT_WORDS):  # a felt report is of a quake, named or not
        keys |= {FELT, (KIND, HAZARDS["地震"])}
    return keys


TOWN_VOTE, PLACE_VOTE, REGION_VOTE, KIND_VOTE = 2.0, 1.0, 0.5, 1.0
JOIN_VOTES = 2.0  # the votes an event needs for an item to join it


_WIDE = ("country", "province")


def place_votes(places: set[str]) -> float:
    """How precisely the places an item shares with an event place the incident. Each chain of
    places counts once, by its finest (昆明市 with 云南省, 爪哇 with 印尼, is one place): a town
    (乡镇) 2, joining on its own; a county, a city or a foreign country (reports from China name
    a country or a city, no finer) 1; a province ½. Places outside the jurisdiction are known by
    name (``@`` + name), inside by code."""
    votes = 0.0
    abroad = {p[len(ABROAD):]: region_of(p[len(ABROAD):]) for p in places if p.startswith(ABROAD)}
    finer = {r for level, r in abroad.values() if level not in _WIDE}
    wide = {(level, r) for level, r in abroad.values() if level in _WIDE and r not in finer}
    for level, _ in wide:  # a country or a province once, and not beside a city of its own
        votes += REGION_VOTE if level == "province" else PLACE_VOTE
    for level, _ in abroad.values():
        if level not in _WIDE:
            votes += PLACE_VOTE
    for place in places:
        if _is_code(place) and not any(o != place and o.startswith(place) for o in places if _is_code(o)):
            votes += TOWN_VOTE if len(place) > TOWN_CODE_LEN else PLACE_VOTE if len(place) > 2 else REGION_VOTE
    return votes


def _is_code(place: str) -> bool:
    return place != KIND and not place.startswith(ABROAD)


def _is_code_only(places: set[str]) -> bool:
    """Places all known by division code: whether they are one incident's can be told by the
    places inside them (:meth:`Grouper.same_area_incident`). A place outside the jurisdiction is
    known by name only, so a stored event is never merged on one shared with the hazard alone:
    a country named in passing (美国, by its survey's magnitude) had merged quakes a sea apart."""
    return all(_is_code(p) for p in places)


def _what_where(keys: Iterable[tuple[str, str]]) -> tuple[set[str], set[str]]:
    kinds = {t for c, t in keys if c == KIND}
    towns = {c for c, _ in keys if _is_code(c) and len(c) > TOWN_CODE_LEN}
    return kinds, towns


def _felt_afar(keys: set[tuple[str, str]]) -> bool:
    """A felt report naming provinces or cities where it was felt and no county or town inside
    them (that would be an epicentre of its own; a county named alone is one too). 南开中学 in a
    重庆 report matches 天津's 南开区, which places nothing in 重庆."""
    if FELT not in keys:
        return False
    places = {c for c, _ in keys if c != KIND}
    codes = {c for c in places if _is_code(c)}
    regions = {c for c in codes if len(c) < TOWN_CODE_LEN}
    outside = [region_of(p[len(ABROAD):]) for p in places if p.startswith(ABROAD)]  # by province
    provinces = {r for level, r in outside if level != "county"}
    if not regions and not provinces:
        return False
    if any(len(c) >= TOWN_CODE_LEN and any(c.startswith(r) for r in regions) for c in codes):
        return False
    return not any(level == "county" and r in provinces for level, r in outside)


def _overlap(places: set[str], others: set[str]) -> bool:
    """Some place of one set is, contains or lies in some place of the other (a county and one
    of its towns are one place)."""
    return any(a.startswith(b) or b.startswith(a) for a in places for b in others)


def _counties(keys: Iterable[tuple[str, str]]) -> set[str]:
    """The counties (区县) named, directly or by one of their towns."""
    return {c[:TOWN_CODE_LEN] for c, _ in keys if _is_code(c) and len(c) >= TOWN_CODE_LEN}


class Grouper:
    """Folding and event look-up for the items of the recent window."""

    def __init__(self, window: timedelta = WINDOW, judgement: Judgement | None = None) -> None:
        """``judgement``: the profile's thresholds (``duplicate_similarity``: a copy folds into its
        original; ``event_similarity``: a signature this close votes); their defaults if None."""
        judgement = judgement or Judgement()
        self.window = window
        self.similarity = judgement.event_similarity
        self.folds = FoldIndex(judgement.duplicate_similarity)
        self.signatures = BandIndex(judgement.event_similarity)
        self.sig = HashRows()  # the hash values: all an estimate needs
        # key -> {event: the window's items that put it under the key}: an event leaves a key
        # with the last of them, not with the first (keys of a long event's first items stayed
        # behind for good when they left while the event was still being reported)
        self.by_key: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        self.event_keys: dict[int, Counter[tuple[str, str]]] = defaultdict(Counter)  # the inverse
        self.entries: dict[int, Entry] = {}
        self.order: deque[int] = deque()
        self.event_seen: dict[int, datetime] = {}  # forgotten with the last of its items (evict)
        self.event_first: dict[int, datetime] = {}  # its first report in the window (merging)
        self.members: dict[int, set[int]] = defaultdict(set)  # event -> its items in the window
        self.last_item_id = 0
        self.synced_upto = 0  # every item id up to this has been read from the store (decision.py)
        self.handed_upto: str | None = None  # the last entry of the handover stream applied (handover.py)
        self.just_evicted: dict[int, int] = {}  # item -> its event, of the last eviction (decision.py)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.entries

    def assign(self, minhash: MinHash, signature: MinHash | None, keys: set[tuple[str, str]],
               now: datetime) -> tuple[int | None, int | None]:
        """``(duplicate_of, event_id)`` for a new item; event_id None means a new event."""
        original = self.folds.find(minhash)
        if original is not None and original in self.entries:
            return original, self.entries[original].event_id
        return original, self._join(keys, signature.hashvalues if signature is not None else None,
                                    lambda e: now - self.event_seen.get(e, now - 2 * self.window))

    def _join(self, keys: set[tuple[str, str]], hashvalues: np.ndarray | None, gap: Gap,
              own: int | None = None) -> int | None:
        """The event an item of these keys and signature joins, or None (a new event). ``gap``:
        how long before the item an event was last reported (negative: after it); ``own``: the
        event a stored item is in, tried against the others (it would join the best of them, or
        stay in its own quake by the felt-report rule)."""
        shared: dict[int, set[str]] = defaultdict(set)  # event -> the places it shares with the item
        for key in keys:
            if key[0] != KIND:
                for event_id in self.by_key.get(key, ()):
                    shared[event_id].add(key[0])
        kinds = [key for key in keys if key[0] == KIND]
        votes: dict[int, float] = defaultdict(float)
        by_area: set[int] = set()  # events the item would join on a county, a city or a country alone
        for event_id, places in shared.items():
            theirs = self.event_keys.get(event_id)
            same_kind = theirs is not None and any(k in theirs for k in kinds)
            votes[event_id] = place_votes(places) + KIND_VOTE * same_kind
            if not any(_is_code(p) and len(p) > TOWN_CODE_LEN for p in places):
                by_area.add(event_id)
        candidates = self.signatures.query(hashvalues) if hashvalues is not None else []
        if len(candidates) > MAX_CANDIDATES:  # a hot bucket: the newest reports are the ones to join
            candidates = heapq.nlargest(MAX_CANDIDATES, candidates)
        if candidates and hashvalues is not None:
            j = self.sig.jaccards(candidates, Hashes(hashvalues))
            for k in np.flatnonzero(j >= self.similarity).tolist():
                event_id = self.entries[candidates[k]].event_id
                votes[event_id] += 2.0 * float(j[k])
                by_area.discard(event_id)  # worded alike: more than a shared area
        live = {e: v for e, v in votes.items() if v >= JOIN_VOTES and e != own
                and gap(e) <= self.window and self.same_incident(e, keys)
                and (e not in by_area or ((own is None or _is_code_only(shared[e])) and self.same_area_incident(e, keys, gap)))}
        if not live and _felt_afar(keys):
            quake = self._felt_quake(keys, votes, gap)
            return None if quake == own else quake
        return max(live, key=lambda e: (live[e], e)) if live else None

    def _felt_quake(self, keys: set[tuple[str, str]], votes: dict[int, float], gap: Gap) -> int | None:
        """The quake a felt report from afar is of: of the quakes reported within the day by at
        least ``FELT_MIN_REPORTS``, the one sharing most with it, else the most reported. A stored
        felt report already in such a quake (its own event) stays there: tried against the other
        events it would otherwise glue every quake of the day into one."""
        quakes = self.by_key.get((KIND, HAZARDS["地震"]), Counter())
        day = {e: n for e, n in quakes.items() if n >= FELT_MIN_REPORTS
               and gap(e) <= FELT_DAY and self.same_incident(e, keys)}
        return max(day, key=lambda e: (votes.get(e, 0.0), day[e], e)) if day else None

    def same_incident(self, event_id: int, keys: set[tuple[str, str]]) -> bool:
        """False when the item and the event name different hazards, or different towns of the
        incident's county. Towns are compared inside the counties both name (the incident's
        place): a report filed from another city names that city's towns, and a town-like word
        matched elsewhere in the country names a far county, neither of which tells incidents apart."""
        kinds, towns = _what_where(keys)
        theirs = self.event_keys.get(event_id)
        if not theirs:
            return True
        their_kinds, their_towns = _what_where(theirs)
        if kinds and their_kinds and not kinds & their_kinds:
            return False
        shared = _counties(keys) & _counties(theirs)
        if shared:
            towns = {t for t in towns if t[:TOWN_CODE_LEN] in shared}
            their_towns = {t for t in their_towns if t[:TOWN_CODE_LEN] in shared}
        return not (towns and their_towns and not towns & their_towns)

    def same_area_incident(self, event_id: int, keys: set[tuple[str, str]], gap: Gap) -> bool:
        """For a join resting on a shared area (a county, a city, a country) and the same hazard,
        nothing finer: the event was reported within ``AREA_DAY`` of the item, and where both name
        places inside the area they share (counties of the city, towns of the county), they share
        one. Two fires in 广州 a week apart, or one in 天河区 and one in 白云区, are two incidents."""
        if gap(event_id) > AREA_DAY:
            return False
        theirs = self.event_keys.get(event_id)
        if not theirs:
            return True
        mine = {c for c, _ in keys if _is_code(c)}
        their = {c for c, _ in theirs if _is_code(c)}
        for area in mine & their:
            inside = {c for c in mine if c != area and c.startswith(area)}
            their_inside = {c for c in their if c != area and c.startswith(area)}
            if inside and their_inside and not _overlap(inside, their_inside):
                return False
        return True

    def add(self, item_id: int, at: datetime, event_id: int, minhash: MinHash | Hashes,  # noqa: PLR0913
            signature: MinHash | Hashes | None, keys: set[tuple[str, str]], duplicate_of: int | None) -> None:
        if item_id in self.entries:
            return
        self.entries[item_id] = Entry(item_id, at, event_id, tuple(keys))
        self.order.append(item_id)
        self.folds.add(item_id, minhash, duplicate_of)
        if duplicate_of is None and signature is not None:  # copies add nothing new to it
            self.sig.add(item_id, signature.hashvalues)
            self.signatures.insert(item_id, signature.hashvalues)
        for key in keys:
            self._index(key, event_id)
        self.event_seen[event_id] = max(at, self.event_seen.get(event_id, at))
        self.event_first[event_id] = min(at, self.event_first.get(event_id, at))
        self.members[event_id].add(item_id)
        self.last_item_id = max(self.last_item_id, item_id)

    def decision(self, item_id: int) -> tuple[int | None, int] | None:
        """``(duplicate_of, event_id)`` the index holds for an item: decided, perhaps not yet
        written (its job failed after the lock, or another worker's is still counting it)."""
        entry = self.entries.get(item_id)
        if entry is None:
            return None
        root = self.folds.root.get(item_id, item_id)
        return (None if root == item_id else root), entry.event_id

    def rename_event(self, old: int, new: int, item_ids: Iterable[int]) -> None:
        """Give an event its real id once stored (``item_ids``: the items added under ``old``),
        or move an event's items into another (:meth:`merge_events`)."""
        for item_id in list(item_ids):
            entry = self.entries.get(item_id)
            if entry is None or entry.event_id != old:
                continue
            entry.event_id = new
            self._forget_member(old, item_id)
            self.members[new].add(item_id)
            for key in entry.keys:
                self._unindex(key, old)
                self._index(key, new)
        if old in self.event_seen:
            seen = self.event_seen.pop(old)
            self.event_seen[new] = max(seen, self.event_seen.get(new, seen))
        if old in self.event_first:
            first = self.event_first.pop(old)
            self.event_first[new] = min(first, self.event_first.get(new, first))

    def _forget_member(self, event_id: int, item_id: int) -> None:
        mine = self.members.get(event_id)
        if mine is not None:
            mine.discard(item_id)
            if not mine:
                del self.members[event_id]

    def merge_events(self, kept: int, merged: int) -> None:
        """The ``merged`` event's items are the ``kept`` one's from now on; ``merged`` leaves the index."""
        self.rename_event(merged, kept, sorted(self.members.get(merged, ())))

    def merges(self, touched: Iterable[int]) -> dict[int, int]:
        """``{merged event: the event it goes into}`` for the events the ``touched`` ones show to
        be one incident with: an item of one would join the other under the rule that joins a new
        item (:meth:`_join`), each tried at its own time. Each group goes into its oldest (lowest) id."""
        parent: dict[int, int] = {}

        def root(e: int) -> int:
            while parent.get(e, e) != e:
                e = parent[e]
            return e

        for t in sorted(set(touched)):
            for c in self._merge_candidates(t):
                if root(c) != root(t) and (self._tries_join(c, t) or self._tries_join(t, c)):
                    a, b = sorted((root(c), root(t)))
                    parent[b] = a
        return {e: root(e) for e in parent}

    def _merge_candidates(self, event_id: int) -> list[int]:
        """Events that could be one incident with this one by their keys: they share places
        voting enough with the hazard, or one is a felt report and the other a quake."""
        mine = self.event_keys.get(event_id)
        if not mine:
            return []
        shared: dict[int, set[str]] = defaultdict(set)
        for key in mine:
            if key[0] != KIND:
                for other in self.by_key.get(key, ()):
                    if other != event_id:
                        shared[other].add(key[0])
        kinds = {k for k in mine if k[0] == KIND}
        out = {e for e, places in shared.items()
               if place_votes(places) + KIND_VOTE * bool(kinds & set(self.event_keys.get(e, ()))) >= JOIN_VOTES}
        quake = (KIND, HAZARDS["地震"])
        if FELT in mine:
            out |= set(self.by_key.get(quake, ())) - {event_id}
        elif quake in mine:
            out |= set(self.by_key.get(FELT, ())) - {event_id}
        return sorted(out)

    def _tries_join(self, source: int, target: int) -> bool:
        """Some of the newest originals of ``source``, arriving now, would join ``target`` rather than
        any other event (its own aside), the distance in time being from the item to the nearest
        report of each event; and neither event names a kind of hazard the other does not (an
        event that took in many reports must not draw in every incident sharing one of its hazards)."""
        kinds, theirs = (_what_where(self.event_keys.get(e, ()))[0] - {FELT[1]} for e in (source, target))
        if kinds and theirs and not (kinds <= theirs or theirs <= kinds):
            return False
        originals = (i for i in self.members.get(source, ()) if self.folds.root.get(i, i) == i)
        for item_id in heapq.nlargest(MERGE_TRIES, originals):  # a copy joined by folding, not by this rule
            entry = self.entries[item_id]
            values = self.sig.values[self.sig.rows[item_id]] if item_id in self.sig else None
            if self._join(set(entry.keys), values, self._gap_from(entry.at), source) == target:
                return True
        return False

    def _gap_from(self, at: datetime) -> Gap:
        """How far from ``at`` an event was reported: after its last report, before its first."""
        def gap(event_id: int) -> timedelta:
            last = self.event_seen.get(event_id)
            if last is None:
                return 2 * self.window
            return max(at - last, self.event_first.get(event_id, last) - at, timedelta(0))
        return gap

    def _index(self, key: tuple[str, str], event_id: int) -> None:
        self.by_key[key][event_id] += 1
        self.event_keys[event_id][key] += 1

    def _unindex(self, key: tuple[str, str], event_id: int) -> None:
        mine = self.event_keys[event_id]
        mine[key] -= 1
        if mine[key] <= 0:
            del mine[key]
            if not mine:
                del self.event_keys[event_id]
        events = self.by_key[key]
        events[event_id] -= 1
        if events[event_id] <= 0:
            del events[event_id]
            if not events:
                del self.by_key[key]

    def evict(self, now: datetime) -> None:
        """Forget items older than the window (their events stay in the store)."""
        cutoff = now - self.window
        self.just_evicted = {}
        while self.order and self.entries[self.order[0]].at < cutoff:
            entry = self.entries.pop(self.order.popleft())
            self.just_evicted[entry.item_id] = entry.event_id
            self.folds.remove(entry.item_id)
            self._forget_member(entry.event_id, entry.item_id)
            if entry.item_id in self.sig:
                self.signatures.remove(entry.item_id, self.sig.pop(entry.item_id))
            for key in entry.keys:
                self._unindex(key, entry.event_id)
            # An event seen last before the window: its last-seen time goes with its items (kept,
            # it grew by one entry per event for as long as the worker ran). The window's items
            # hold the times; a second queue of (time, event) per item cost 72 bytes an item.
            if self.event_seen.get(entry.event_id, cutoff) < cutoff:
                del self.event_seen[entry.event_id]
                self.event_first.pop(entry.event_id, None)


def velocity(times: list[datetime], now: datetime) -> float:
    """Items per hour over the last hour."""
    return float(sum(1 for t in times if now - timedelta(hours=1) < t <= now))

"""抑制 (inhibition) as data: the profile's ``alerts.inhibit_rules``, applied as Alertmanager does.

Each open ticket (回应工单) and each live alert (预警) is a *source* with labels; each notice an
alert is about to send is a *target* with the same labels plus its ``notice`` kind. A rule
inhibits a target when some source matches ``source_match``, the target matches
``target_match``, and the two agree on every label in ``equal``. The shipped rule: "the event
has a ticket, so its alert stops repeating" (source ``type: ticket``, target notices
``update, escalation, repeat``, equal ``event``). An alert is never its own source, and a level
rise (notice ``rise``) is never inhibited, whatever the rules say (the loader refuses a rule
naming it).

Labels: ``type`` (alert|ticket), ``event`` (the event's id), ``level``, ``category``, ``topic``,
``place`` (names and 区划代码; a code prefix such as ``1405`` matches every place below it),
``state`` (a ticket: open|closed; an alert: firing|acknowledged|confirmed), ``notice`` (targets
only: first|update|escalation|repeat|rise). Every ticket is a source, closed ones too (state
``closed``: "the event had a ticket"), and every live alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.levels import Level
from yuqing.models import Alert, AlertStatus, Event, Ticket, TicketState
from yuqing.profile import InhibitRule, Profile

Labels = dict[str, list[str]]
LIVE_ALERTS = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.CONFIRMED)


@dataclass(frozen=True)
class Inhibition:
    """Why a notice is not sent: the rule (as the profile names it) and the source that holds it."""

    rule: str      # e.g. alerts.inhibit_rules[0]
    source: str    # e.g. 工单 #3

    def __str__(self) -> str:
        return f"{self.rule}（{self.source}）"


def event_labels(event: Event | None, level: str = "") -> Labels:
    """The labels every source and target takes from its event."""
    if event is None:
        return {"level": [Level.parse(level).value] if level else []}
    places: list[str] = []
    for p in event.places or []:
        if isinstance(p, dict):
            places += [str(p[k]) for k in ("name", "code", "full_name") if p.get(k)]
        elif p:
            places.append(str(p))
    return {"event": [str(event.id)], "level": [Level.parse(level or event.level).value],
            "category": [str(c) for c in event.categories or []], "topic": [str(t) for t in event.topics or []],
            "place": places}


def target_labels(alert: Alert, event: Event | None, notice: str) -> Labels:
    return {"type": ["alert"], "notice": [notice], "state": [str(AlertStatus(alert.status).value)],
            **event_labels(event, alert.level)}


def _value_matches(key: str, wanted: str, have: str) -> bool:
    if key == "level":
        return Level.parse(wanted) == Level.parse(have)
    if key == "place" and wanted.isdigit() and have.isdigit():
        return have.startswith(wanted)
    return wanted == have


def matches(matchers: Mapping[Any, list[str]], labels: Labels) -> bool:
    """Every key given must match; a key matches when any wanted value matches any label value."""
    return all(any(_value_matches(key, w, h) for w in wanted for h in labels.get(key, []))
               for key, wanted in matchers.items())


def equal(keys: Iterable[str], a: Labels, b: Labels) -> bool:
    """The ``equal`` labels agree (both present and the same; absent on both sides is not agreement)."""
    return all(a.get(k) and sorted(a.get(k, [])) == sorted(b.get(k, [])) for k in keys)


def sources(s: Session, rules: list[InhibitRule], alert: Alert) -> list[tuple[str, Labels]]:
    """Every ticket and live alert the rules could name, as ``(how it is shown, labels)``; only
    the alert's own event's when every rule asks for the same ``event`` (the usual case)."""
    kinds = {k for r in rules for k in r.source_match.get("type", [])}
    same_event = all("event" in r.equal for r in rules)
    out: list[tuple[str, Labels]] = []
    if "ticket" in kinds:
        tickets = select(Ticket, Event).join(Event, Event.id == Ticket.event_id)
        if same_event:
            tickets = tickets.where(Ticket.event_id == alert.event_id)
        out += [(f"工单 #{t.id}", {"type": ["ticket"], "state": [_ticket_state(t)], **event_labels(e, t.level)})
                for t, e in s.execute(tickets.order_by(Ticket.id.desc()).limit(2000))]
    if "alert" in kinds:
        alerts = (select(Alert, Event).join(Event, Event.id == Alert.event_id)
                  .where(Alert.status.in_(LIVE_ALERTS), Alert.id != alert.id))
        if same_event:
            alerts = alerts.where(Alert.event_id == alert.event_id)
        out += [(f"预警 #{a.id}", {"type": ["alert"], "state": [str(AlertStatus(a.status).value)],
                                   **event_labels(e, a.level)})
                for a, e in s.execute(alerts.order_by(Alert.id.desc()).limit(2000))]
    return out


def _ticket_state(ticket: Ticket) -> str:
    return "closed" if ticket.state == TicketState.CLOSED else "open"


def check(rules: list[InhibitRule], target: Labels, found: list[tuple[str, Labels]]) -> Inhibition | None:
    """The first rule and source inhibiting ``target``, or None. Pure, so `route test` shares it."""
    if "rise" in target.get("notice", []):
        return None  # a level rise always reaches the monitor (and from 重大 the leaders)
    for index, rule in enumerate(rules):
        if not matches(rule.target_match, target):
            continue
        for shown, labels in found:
            if matches(rule.source_match, labels) and equal(rule.equal, labels, target):
                return Inhibition(f"alerts.inhibit_rules[{index}]", shown)
    return None


def inhibiting(s: Session, profile: Profile, alert: Alert, event: Event | None, notice: str) -> Inhibition | None:
    """Whether this alert's notice of kind ``notice`` is inhibited now, and by what."""
    rules = profile.alerts.inhibit_rules
    if not rules or notice == "rise":
        return None
    return check(rules, target_labels(alert, event, notice), sources(s, rules, alert))

"""How event assignment (事件归并) is evaluated: CEC articles grouped by incident.

CEC reports are mostly one article per incident; the incidents with several articles (the 2008
Wenchuan earthquake's eleven, the 2014 Kunming attack's four …) were grouped by reading the titles
and dates of every same-category pair within three days (``analysis/data/cec_incidents.csv``, line
numbers of ``cec_annotated.jsonl``; every other article is an incident of its own). The articles go
through the scorer and the :class:`~.events.Grouper` in report order, as a stream would (events
that a later article shows to be one incident merged, as analysis merges stored events), with a
profile whose jurisdiction is the whole country (CEC's incidents are all over it, so a county's
place keys would never fire). Pairwise precision and recall: over pairs of articles, "same event"
against "same incident".
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from yuqing.gazetteer import load_gazetteer
from yuqing.profile import Profile, load_profile, parse_profile

from . import folding
from .events import Grouper, incident_keys
from .scoring import Scorer

DATA = Path(__file__).parent / "data"
_DATE = re.compile(r"(20\d\d|19\d\d)\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})(?:\D{1,3}(\d{1,2}):(\d\d))?")


def _national_profile() -> Profile:
    base = load_profile("zezhou-emergency").model_dump(by_alias=True, exclude={"source_path"})
    base["jurisdiction"] = {"codes": sorted(d.code for d in load_gazetteer().by_code.values()
                                            if d.level == "province"), "context_words": []}
    return parse_profile(base, "national.yaml")


def _when(report_time: str, by_minute: bool = False) -> datetime:
    """The report's day, or with ``by_minute`` its minute where the report gives one (a report
    with a date only comes first in its day)."""
    m = _DATE.search(report_time or "")
    if not m:
        return datetime(2000, 1, 1, tzinfo=UTC)
    hour, minute = (int(m[4] or 0), int(m[5] or 0)) if by_minute else (0, 0)
    return datetime(int(m[1]), int(m[2]), int(m[3]), hour, minute, tzinfo=UTC)


def truth(root: Path) -> tuple[list[dict], list[str]]:
    rows = [json.loads(line) for line in (root / "cec" / "cec_annotated.jsonl").open(encoding="utf-8")]
    with (DATA / "cec_incidents.csv").open(encoding="utf-8") as fh:
        grouped = {int(r["line"]): r["incident"] for r in csv.DictReader(fh)}
    return rows, [grouped.get(n, f"single-{n}") for n in range(1, len(rows) + 1)]


def assign_events(root: Path, models: dict | None = None,
                  by_minute: bool = False) -> tuple[list[dict], list[str], dict[int, int]]:
    """The CEC rows, their incidents and the event each was assigned to (by row index); in the
    order of the reports' days (rows of one day in the corpus's order), or with ``by_minute``
    of their minutes."""
    rows, incident = truth(root)
    scorer = Scorer(_national_profile(), models=models)
    order = sorted(range(len(rows)), key=lambda i: (_when(rows[i]["report_time"], by_minute), i))
    records = [{"id": i, "title": rows[i]["title"], "text": rows[i]["text"][:600], "tier": "local"} for i in order]
    tokens: list[list[str]] = []
    results = scorer.score_many(records, tokens_out=tokens)
    grouper, event = Grouper(judgement=scorer.profile.judgement), {}
    for n, (i, r, words) in enumerate(zip(order, results, tokens, strict=True), start=1):
        now = _when(rows[i]["report_time"], by_minute)
        text = rows[i]["title"] + "。" + rows[i]["text"][:600]
        mh = folding.text_minhash(text)
        sig = folding.signature_minhash(folding.signature_tokens(words, r["places"], r["keywords"]))
        keys = incident_keys(r["places"], r["topics"], r["keywords"], r["flags"]["outside"])
        dup, found = grouper.assign(mh, sig, keys, now)
        event[i] = found if found is not None else n
        grouper.add(n, now, event[i], mh, sig, keys, dup)
        for merged, kept in grouper.merges([event[i]]).items():  # stored events found one incident
            grouper.merge_events(kept, merged)
            event.update({j: kept for j, e in event.items() if e == merged})
    return rows, incident, event


def evaluate_events(root: Path, models: dict | None = None, by_minute: bool = False) -> dict:
    rows, incident, event = assign_events(root, models, by_minute)
    tp = fp = fn = 0
    for a, b in combinations(range(len(rows)), 2):
        same_event, same_incident = event[a] == event[b], incident[a] == incident[b]
        tp += same_event and same_incident
        fp += same_event and not same_incident
        fn += same_incident and not same_event
    return {"articles": len(rows), "incidents": len(set(incident)), "events": len(set(event.values())),
            "true_pairs": tp + fn, "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}


if __name__ == "__main__":  # python -m yuqing.analysis.eval_events [--by-minute] [CORPORA]: the card's event figures
    import sys

    from .corpora import DEFAULT_CORPORA

    args = [a for a in sys.argv[1:] if a != "--by-minute"]
    print(json.dumps(evaluate_events(Path(args[0]) if args else DEFAULT_CORPORA, by_minute="--by-minute" in sys.argv)))

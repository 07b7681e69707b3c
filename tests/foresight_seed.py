"""A store seeded with past events of known shape, built at test time from the corpora (never
committed): 泰迪杯 message-board complaints about demolition compensation, school fees and
safety hazards, and CEC fire reports. Items are scored by the real Scorer; their events are
set here, with the level each shape is known to have reached."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from yuqing.analysis.scoring import Scorer
from yuqing.models import Event, Item

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


@dataclass
class Shape:
    key: str
    title: str
    level: str
    texts: list[tuple[str, str, str]]  # (corpus id, title, text)


def _messages() -> list[dict[str, str]]:
    path = CORPORA / "gov_messages_tipdm2020" / "messages_labeled.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _cec() -> list[dict]:
    path = CORPORA / "cec" / "cec_annotated.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def shapes() -> list[Shape]:
    rows = _messages()
    used: set[str] = set()

    def pick(test, limit: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
        out = []
        for r in rows:
            text = r["留言主题"] + "。" + r["留言详情"]
            if r["留言编号"] not in used and test(text):
                used.add(r["留言编号"])
                out.append((f"msg-{r['留言编号']}", r["留言主题"], r["留言详情"][:600]))
            if len(out) >= limit:
                break
        return out

    demolition = pick(lambda t: any(w in t for w in ("拆迁", "征收", "征地")) and "补偿" in t, 12)
    school = pick(lambda t: ("学校" in t or "学生" in t) and "收费" in t, 10)
    hazard = pick(lambda t: "安全隐患" in t, 10)
    fires = [(f"cec-{r['id']}", r["title"], r["text"][:600]) for r in _cec() if r["category"] == "火灾"][:10]
    return [Shape("demolition", "拆迁征收补偿问题", "较大", demolition),
            Shape("school_fees", "学校收费问题", "一般", school),
            Shape("hazard", "安全隐患投诉", "一般", hazard),
            Shape("fire", "火灾事故", "重大", fires)]


def seed(rt, start: datetime | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Write the shapes as events with their items; ``{shape key: event id}``."""
    scorer = Scorer(rt.profile, str(rt.settings.data_dir))
    at = start or rt.now() - timedelta(days=200)
    out: dict[str, int] = {}
    with rt.session() as s:
        for shape in shapes():
            assert shape.texts, f"no corpus rows for {shape.key}"
            results = scorer.score_many([{"id": cid, "title": t, "text": x} for cid, t, x in shape.texts])
            event = Event(title=shape.title, first_seen_at=at, last_seen_at=at + timedelta(days=3),
                          updated_at=at, level=shape.level, item_count=len(shape.texts),
                          unique_count=len(shape.texts), source_count=1,
                          topics=sorted({k for r in results for k in r["topics"]}))
            s.add(event)
            s.flush()
            for n, ((cid, title, text), r) in enumerate(zip(shape.texts, results, strict=True)):
                url = f"https://bbs.example/{cid}"
                s.add(Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=title, text=text,
                           tier="forum", fetched_at=at + timedelta(hours=n), published_at=at + timedelta(hours=n),
                           content_hash=hashlib.sha256(text.encode()).hexdigest(), event_id=event.id,
                           emotion=r["emotion"], risk=r["risk"], level=r["level"], topics=r["topics"],
                           places=r["places"], keywords=r["keywords"], analysed_at=at))
            out[shape.key] = event.id
    return out

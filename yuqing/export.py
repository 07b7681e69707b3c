"""`yuqing export`: items, events or tickets as JSON Lines, streamed in id order.

Items are written with the documented fields of :data:`ITEM_FIELDS` (the README lists them):
the source's key and name beside its id, the 来源单位 and 栏目, and the analysis scores;
never the binary folding columns. Events and tickets are written column by column, binary
columns left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import inspect, select

from .exceptions import YuqingError
from .models import Event, Item, Source, Ticket
from .runtime import Runtime

KINDS: dict[str, type[Item] | type[Event] | type[Ticket]] = {"items": Item, "events": Event, "tickets": Ticket}
BATCH = 1000
# Item fields as exported, in order. Keep the README's list (导出字段) in step.
ITEM_FIELDS = (
    "id", "url", "title", "text", "author", "source_unit", "column_name",
    "source_id", "source_key", "source_name", "tier", "platform",
    "published_at", "fetched_at", "updated_at", "engagement", "page_state", "page_state_at",
    "analysed_at", "model_version", "relevance", "remit", "in_remit", "risk", "level", "rumor", "emotion",
    "in_jurisdiction", "places", "categories", "topics", "keywords", "watch_words", "flags", "casualties",
    "reasons", "duplicate_of_id", "duplicate_count", "event_id", "content_hash", "raw_ref",
)


class UnknownExport(YuqingError):
    hint = "可导出: items、events、tickets"


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _item_row(item: Item, sources: dict[int, tuple[str, str]]) -> dict[str, Any]:
    key, name = sources.get(item.source_id or 0, ("", ""))
    extra = {"source_key": key, "source_name": name}
    return {field: extra[field] if field in extra else _value(getattr(item, field)) for field in ITEM_FIELDS}


def _row(obj: Any) -> dict[str, Any]:
    out = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, bytes | bytearray | memoryview):
            continue  # binary sketches (MinHash signatures) mean nothing outside the store
        out[attr.key] = _value(value)
    if isinstance(obj, Ticket):
        out["deadlines"] = [
            {"kind": d.kind, "seq": d.seq, "due_at": d.due_at.isoformat(),
             "met_at": d.met_at.isoformat() if d.met_at else None,
             "breached_at": d.breached_at.isoformat() if d.breached_at else None}
            for d in obj.deadlines]
    return out


def export_jsonl(rt: Runtime, kind: str, out: IO[str]) -> int:
    model = KINDS.get(kind)
    if model is None:
        raise UnknownExport(f"不能导出 {kind!r}")
    with rt.session() as s:
        sources = {sid: (key, name) for sid, key, name in s.execute(select(Source.id, Source.key, Source.name))}
    count, last_id = 0, 0
    while True:  # keyset pages: constant memory, however large the store
        with rt.session() as s:
            rows: Sequence[Any] = s.scalars(select(model).where(model.id > last_id).order_by(model.id).limit(BATCH)).all()
            for row in rows:
                data = _item_row(row, sources) if model is Item else _row(row)
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
        if not rows:
            return count
        count += len(rows)
        last_id = rows[-1].id

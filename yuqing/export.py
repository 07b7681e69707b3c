"""`yuqing export`: items, events or tickets as JSON Lines, streamed in id order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any

from sqlalchemy import inspect, select

from .exceptions import YuqingError
from .models import Event, Item, Ticket
from .runtime import Runtime

KINDS = {"items": Item, "events": Event, "tickets": Ticket}
SKIP = {"minhash"}
BATCH = 1000


class UnknownExport(YuqingError):
    hint = "可导出: items、events、tickets"


def _row(obj: Any) -> dict[str, Any]:
    out = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in SKIP:
            continue
        value = getattr(obj, attr.key)
        out[attr.key] = value.isoformat() if isinstance(value, datetime) else value
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
    count, last_id = 0, 0
    while True:  # keyset pages: constant memory, however large the store
        with rt.session() as s:
            rows = s.scalars(select(model).where(model.id > last_id).order_by(model.id).limit(BATCH)).all()
            for row in rows:
                out.write(json.dumps(_row(row), ensure_ascii=False) + "\n")
        if not rows:
            return count
        count += len(rows)
        last_id = rows[-1].id

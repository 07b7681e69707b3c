"""Streaming JSON Lines scoring for `yuqing score`: constant memory, input order kept."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

BATCH = 256


def _check(line_no: int, raw: str) -> tuple[dict[str, Any] | None, str]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"第 {line_no} 行不是有效的 JSON：{exc.msg}（第 {exc.colno} 列）"
    if not isinstance(record, dict):
        return None, f"第 {line_no} 行应为 JSON 对象，而不是 {type(record).__name__}"
    if "id" not in record:
        return None, f"第 {line_no} 行缺少 id 字段"
    if not isinstance(record.get("text"), str):
        return None, f"第 {line_no} 行缺少 text 字段或 text 不是字符串"
    if record.get("title") is not None and not isinstance(record["title"], str):
        return None, f"第 {line_no} 行 title 不是字符串"
    return record, ""


def _id_of(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return value.get("id") if isinstance(value, dict) else None


def score_stream(profile, src: Iterable[str], dst: IO[str], progress: bool = False) -> int:  # type: ignore[no-untyped-def]
    """Score each line of ``src`` into ``dst``; returns the number of bad lines."""
    from .scoring import Scorer

    scorer = Scorer(profile)
    bad = done = 0
    started = time.monotonic()
    batch: list[tuple[int, dict[str, Any] | None, str, Any]] = []

    def flush() -> None:
        good = [rec for _, rec, _, _ in batch if rec is not None]
        scored = iter(scorer.score_many(good))
        for line_no, rec, err, raw_id in batch:
            out = next(scored) if rec is not None else {"id": raw_id, "error": err, "line": line_no}
            dst.write(json.dumps(out, ensure_ascii=False) + "\n")
        batch.clear()

    for line_no, raw in enumerate(src, start=1):
        if not raw.strip():
            continue
        record, err = _check(line_no, raw)
        raw_id = _id_of(raw)
        if record is None:
            bad += 1
        batch.append((line_no, record, err, raw_id))
        if len(batch) >= BATCH:
            flush()
            done += BATCH
            if progress:
                rate = done / max(1e-6, time.monotonic() - started)
                sys.stderr.write(f"\r已研判 {done} 行（{rate:.0f} 行/秒）")
    done += len(batch)
    flush()
    if progress:
        sys.stderr.write(f"\r已研判 {done} 行，完成。\n")
    dst.flush()
    return bad

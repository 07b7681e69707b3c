"""Streaming JSON Lines scoring for `yuqing score`: constant memory, input order kept."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from yuqing.profile import Profile

from .scoring import Scorer

BATCH = 256
# One line (one post) of at most 1 MB: a 50 MB line used to take `yuqing score` to 7 GB. A longer
# line is that line's error; it is skipped in chunks, never held whole.
MAX_LINE_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class _TooLong:
    """Stands for a line over :data:`MAX_LINE_BYTES` (its content was skipped unread)."""


TOO_LONG = _TooLong()


def bounded_lines(src: Iterable[str | bytes], limit: int = MAX_LINE_BYTES) -> Iterable[str | bytes | _TooLong]:
    """The lines of ``src``, each at most ``limit`` bytes; :data:`TOO_LONG` for a longer one."""
    readline = getattr(src, "readline", None)
    if readline is None:  # an in-memory list of lines: already whole, only measured
        for raw in src:
            size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
            yield TOO_LONG if size > limit else raw
        return
    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n" if isinstance(line, bytes) else "\n"):
            while line and not line.endswith(b"\n" if isinstance(line, bytes) else "\n"):
                line = readline(_CHUNK)  # skip the rest of this line in chunks
            yield TOO_LONG
            continue
        yield TOO_LONG if len(line) > limit + 1 else line


OPTIONAL_TEXT = ("title", "published_at", "source", "tier")  # a string or null when present


def _check(line_no: int, raw: str | bytes) -> tuple[dict[str, Any] | None, str, str, Any]:
    """(record, error, field at fault, the line's id as far as it can be read)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"第 {line_no} 行不是有效的 UTF-8（第 {exc.start + 1} 字节）", "", None
    if line_no == 1:
        raw = raw.removeprefix("\ufeff")  # a byte-order mark from Windows editors
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"第 {line_no} 行不是有效的 JSON：{exc.msg}（第 {exc.colno} 列）", "", None
    except (ValueError, RecursionError):  # a 5000-digit number, arrays nested 100k deep
        return None, f"第 {line_no} 行不是可读的 JSON（数字过长或嵌套过深）", "", None
    if not isinstance(record, dict):
        return None, f"第 {line_no} 行应为 JSON 对象，而不是 {type(record).__name__}", "", None
    raw_id = record.get("id")
    if isinstance(raw_id, dict | list):
        return None, f"第 {line_no} 行 id 应为字符串或数字", "id", None
    if "id" not in record:
        return None, f"第 {line_no} 行缺少 id 字段", "id", None
    if not isinstance(record.get("text"), str):
        return None, f"第 {line_no} 行缺少 text 字段或 text 不是字符串", "text", raw_id
    for key in OPTIONAL_TEXT:
        if record.get(key) is not None and not isinstance(record[key], str):
            return None, f"第 {line_no} 行 {key} 不是字符串", key, raw_id
    engagement = record.get("engagement")
    if engagement is not None:
        if not isinstance(engagement, dict):
            return None, f"第 {line_no} 行 engagement 应为对象（如 {{\"likes\": 3}}）", "engagement", raw_id
        for key, value in engagement.items():
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                return (None, f"第 {line_no} 行 engagement.{key} 应为非负数，而不是 {json.dumps(value)[:40]}",
                        f"engagement.{key}", raw_id)
    return record, "", "", raw_id


_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _dump(out: dict[str, Any]) -> str:
    """One output line. Characters that some readers take for line breaks (str.splitlines,
    older JavaScript) are escaped, so an echoed id cannot split a result over two lines."""
    line = json.dumps(out, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") in an id: escape it, stay valid UTF-8
        line = json.dumps(out)
    return line.translate(_LINE_BREAKS)


def score_stream(profile: Profile, src: Iterable[str | bytes], dst: IO[str], progress: bool = False) -> int:
    """Score each line of ``src`` (text, or bytes read as UTF-8 line by line, so one bad line
    cannot stop the rest) into ``dst``; returns the number of bad lines. A bad line becomes
    ``{"id", "error", "line"}``, plus ``"field"`` when one field is at fault."""
    scorer = Scorer(profile)
    bad = done = 0
    started = time.monotonic()
    batch: list[tuple[int, dict[str, Any] | None, str, str, Any]] = []

    def flush() -> None:
        good = [rec for _, rec, _, _, _ in batch if rec is not None]
        scored = iter(scorer.score_many(good))
        for line_no, rec, err, field, raw_id in batch:
            if rec is not None:
                out = next(scored)
            else:
                out = {"id": raw_id, "error": err, "line": line_no, **({"field": field} if field else {})}
            dst.write(_dump(out) + "\n")
        batch.clear()

    for line_no, raw in enumerate(bounded_lines(src), start=1):
        if isinstance(raw, _TooLong):
            bad += 1
            batch.append((line_no, None, f"该行超过 {MAX_LINE_BYTES // 1024} KB 上限，未研判", "", None))
        else:
            if not raw.strip():
                continue
            record, err, field, raw_id = _check(line_no, raw)
            if record is None:
                bad += 1
            batch.append((line_no, record, err, field, raw_id))
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

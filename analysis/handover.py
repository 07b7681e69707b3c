"""The grouping decisions handed from one lock holder to the next (归并决定的交接), through Redis.

Every worker keeps its own folding/event index. Each holder of the grouping lock appends what
it decided (the batch's items: their event, the original they copy, both MinHashes and their
incident keys) to one Redis stream before it lets go; the next holder applies the entries it
has not seen instead of reading the other workers' items back from the store (the index sync
was the largest part of the grouping section under bench_load, bench/PROFILE.md), and the
items' events can be written after the lock, with their counts.

Each entry names the entry before it, so a worker that missed one (the stream trimmed, Redis
restarted, a holder gone between its commit and its entry) knows, and rebuilds its index from
the store and the stream (:func:`.decision.grouper_synced`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from redis import Redis

from .batchstore import Record
from .folding import NUM_PERM, Hashes

STREAM_KEY = "yuqing:analysis:decisions"
# Entries kept (batches): a worker further behind than this rebuilds its index from the store.
KEPT = 500
START = "0-0"  # the position before the first entry


@dataclass(slots=True)
class Merged:
    """Two events found one incident: ``merged`` went into ``kept`` (:mod:`.merging`)."""
    merged: int
    kept: int


@dataclass(slots=True)
class Decided:
    """One item as the index needs it."""
    item_id: int
    at: datetime
    event_id: int
    duplicate_of: int | None
    minhash: Hashes
    signature: Hashes | None
    keys: set[tuple[str, str]]


def publish(redis: Redis, items: list[Record], after: str, merged: dict[int, int] | None = None) -> str:
    """Append the batch's decided ``items`` and the events it ``merged`` (``{merged: kept}``,
    applied before the items) (``after``: the last entry this holder applied, so the chain is
    unbroken); the new entry's id. Hash values fit in 32 bits (datasketch's)."""
    signed = [it.signature_value is not None for it in items]
    zeros = np.zeros(NUM_PERM, dtype=np.uint32)
    none = np.zeros((0, NUM_PERM), dtype=np.uint32)  # an entry of merges alone (a re-run's batch)
    fields = {
        "after": after,
        "ids": np.array([it.id for it in items], dtype=np.uint64).tobytes(),
        "events": np.array([it.event_id for it in items], dtype=np.uint64).tobytes(),
        "copies": np.array([it.duplicate_of_id or 0 for it in items], dtype=np.uint64).tobytes(),
        "minhash": np.stack([it.minhash_value.hashvalues.astype(np.uint32) for it in items] or [none]).tobytes(),
        "signature": np.stack([it.signature_value.hashvalues.astype(np.uint32) if ok else zeros
                               for it, ok in zip(items, signed, strict=True)] or [none]).tobytes(),
        "signed": bytes(signed),
        "meta": json.dumps({"at": [it.fetched_at.isoformat() for it in items],
                            "keys": [sorted(it.keys) for it in items],
                            "merged": sorted((merged or {}).items())}, ensure_ascii=False),
    }
    return str(redis.xadd(STREAM_KEY, fields, maxlen=KEPT, approximate=True), "ascii")  # type: ignore[arg-type]


def read(redis: Redis, since: str) -> tuple[list[Decided | Merged], str, bool]:
    """The items of the entries after ``since``, in order; the last entry's id; and whether the
    chain from ``since`` is whole (False: an entry was missed, the index must be rebuilt)."""
    found: Any = redis.xread({STREAM_KEY: since})  # redis-py's type covers its asyncio client too
    entries = found[0][1] if found else []
    out: list[Decided | Merged] = []
    whole, position = True, since
    for entry_id, fields in entries:
        if fields[b"after"].decode() != position:
            whole = False
        position = entry_id.decode()
        out.extend(_decode(fields))
    return out, position, whole


def read_all(redis: Redis) -> tuple[list[Decided | Merged], str]:
    """Every entry kept (a worker rebuilding its index, after the store's items)."""
    items, position, _ = read(redis, START)
    return items, position


def _decode(fields: dict[bytes, bytes]) -> list[Decided | Merged]:
    ids = np.frombuffer(fields[b"ids"], dtype=np.uint64).tolist()
    events = np.frombuffer(fields[b"events"], dtype=np.uint64).tolist()
    copies = np.frombuffer(fields[b"copies"], dtype=np.uint64).tolist()
    minhash = np.frombuffer(fields[b"minhash"], dtype=np.uint32).reshape(len(ids), NUM_PERM)
    signature = np.frombuffer(fields[b"signature"], dtype=np.uint32).reshape(len(ids), NUM_PERM)
    meta = json.loads(fields[b"meta"])
    merges: list[Decided | Merged] = [Merged(merged, kept) for merged, kept in meta.get("merged", [])]
    return merges + [Decided(item_id, datetime.fromisoformat(at), event_id, copy or None, Hashes(minhash[k]),
                    Hashes(signature[k]) if fields[b"signed"][k] else None, {(c, t) for c, t in keys})
            for k, (item_id, event_id, copy, at, keys)
            in enumerate(zip(ids, events, copies, meta["at"], meta["keys"], strict=True))]

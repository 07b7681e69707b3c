"""去重 (near-duplicate folding) and incident signatures, with datasketch MinHash-LSH.

Two MinHashes per item: over character 3-grams of the normalised text (reposts, wire copies,
small edits: Jaccard ≥ 0.7 folds) and over its salient words (places, remit words, content
words: the incident signature that :mod:`.events` uses to group different reports of one
incident). Both are stored on the item (``Item.minhash``, ``Item.signature``) so any worker can
rebuild its in-memory index from the database.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
DUP_THRESHOLD = 0.7
_NORMALISE = re.compile(r"[\s\W_]+|^(转发|转|RT)[:：]?")
_STOP = {"一个", "我们", "他们", "你们", "这个", "那个", "什么", "没有", "已经", "目前", "记者", "发生",
         "今天", "现在", "正在", "进行", "表示", "可以", "相关", "情况", "工作", "事件", "事故",
         "转发", "微博", "哈哈", "哈哈哈", "评论", "回复", "分享", "图片", "视频", "链接", "网页",
         # how a post or a wire piece begins, not what happened
         "网友", "反映", "爆料", "快讯", "消息", "最新", "最新消息", "上午", "下午", "晚上", "凌晨", "据悉",
         "获悉", "了解", "报道", "现场"}


def normalise(text: str) -> str:
    return _NORMALISE.sub("", text.replace("#", ""))


# datasketch draws a MinHash's permutations from a seeded RNG at every construction, which cost
# more than the hashing itself; one shared copy gives identical hash values at a fraction.
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=1).permutations


def _minhash(tokens: list[bytes]) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=1, permutations=_PERMUTATIONS)
    if tokens:
        m.update_batch(tokens)
    return m


def text_minhash(text: str) -> MinHash:
    norm = normalise(text)
    grams = {norm[i:i + 3] for i in range(max(1, len(norm) - 2))}
    return _minhash([g.encode() for g in grams])


def signature_tokens(tokens: list[str], places: list[dict], keywords: list[str]) -> set[str]:
    """Salient words of an item: places, remit words, content words of two or more characters."""
    words = {t for t in tokens[:120] if len(t) >= 2 and not t.isdigit() and t not in _STOP
             and re.match(r"^[\u4e00-\u9fa5]+$", t)}
    return words | {p["code"] for p in places} | set(keywords)


# Fewer salient words than this is no incident signature: "转发微博", "哈哈" or an empty post
# would share one with every other such post, and signatures alone would merge them all into one
# giant event (25,772 unrelated posts in the 1M load before this).
MIN_SIGNATURE_WORDS = 3


def signature_minhash(words: set[str]) -> MinHash | None:
    if len(words) < MIN_SIGNATURE_WORDS:
        return None
    return _minhash([w.encode() for w in sorted(words)])


def to_bytes(m: MinHash | None) -> bytes | None:
    return None if m is None else m.hashvalues.astype(np.uint64).tobytes()


def from_bytes(raw: bytes | None) -> MinHash | None:
    if raw is None:
        return None
    return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=np.frombuffer(raw, dtype=np.uint64).copy(),
                   permutations=_PERMUTATIONS)


def jaccards(stored: list[np.ndarray], m: MinHash) -> np.ndarray:
    """MinHash estimates of the Jaccard similarity of ``m`` with each of ``stored`` (hash
    values), in one numpy call: one MinHash.jaccard call per candidate cost three times more."""
    return (np.stack(stored) == m.hashvalues).sum(axis=1) / NUM_PERM


class FoldIndex:
    """Near-duplicate index over a time window; finds the original a new item copies."""

    def __init__(self, threshold: float = DUP_THRESHOLD) -> None:
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.hashes: dict[int, np.ndarray] = {}  # hash values: all a Jaccard estimate needs
        self.root: dict[int, int] = {}  # item → the original it was folded into (itself if original)
        self.order: deque[tuple[datetime, int]] = deque()

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.hashes

    def find(self, m: MinHash) -> int | None:
        """The original (first publisher) of the closest near-duplicate, if any."""
        candidates = self.lsh.query(m)
        if not candidates:
            return None
        same = jaccards([self.hashes[key] for key in candidates], m)
        best = int(np.argmax(same))  # the first of the closest, as one at a time found it
        if same[best] < DUP_THRESHOLD:
            return None
        return self.root.get(candidates[best], candidates[best])

    def add(self, item_id: int, m: MinHash, at: datetime, duplicate_of: int | None) -> None:
        if item_id in self.hashes:
            return
        self.hashes[item_id] = m.hashvalues
        self.root[item_id] = duplicate_of or item_id
        if duplicate_of is None:
            # Only originals go into the LSH: a copy resolves to its original anyway, and keeping
            # copies out stops a viral post's buckets from growing with every repost.
            self.lsh.insert(item_id, m, check_duplication=False)
        self.order.append((at, item_id))

    def evict_before(self, cutoff: datetime) -> None:
        while self.order and self.order[0][0] < cutoff:
            _, item_id = self.order.popleft()
            if self.root.get(item_id) == item_id:
                self.lsh.remove(item_id)
            del self.hashes[item_id]
            self.root.pop(item_id, None)

"""去重 (near-duplicate folding) and incident signatures, with datasketch MinHash-LSH.

Two MinHashes per item: over character 3-grams of the normalised text (reposts, wire copies,
small edits: Jaccard ≥ 0.7 folds) and over its salient words (places, remit words, content
words: the incident signature that :mod:`.events` uses to group different reports of one
incident). Both are stored on the item (``Item.minhash``, ``Item.signature``) so any worker can
rebuild its in-memory index from the database.
"""

from __future__ import annotations

import re
from hashlib import sha1

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
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


# datasketch's constants (its minhash module's _mersenne_prime and _max_hash)
_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)


def _minhash(tokens: list[bytes]) -> MinHash:
    """datasketch's ``update_batch`` with its ``sha1_hash32``, the same values (the products
    wrap at 2^64 there too), with the digests joined into one array: a Python call and a
    ``struct.unpack`` per token were a third of folding's time (bench/PROFILE.md)."""
    m = MinHash(num_perm=NUM_PERM, seed=1, permutations=_PERMUTATIONS)
    if tokens:
        digests = b"".join([sha1(t).digest()[:4] for t in tokens])
        hv = np.frombuffer(digests, dtype="<u4").astype(np.uint64)[:, None]
        a, b = _PERMUTATIONS
        phv = np.bitwise_and((hv * a + b) % _PRIME, _MAX_HASH)
        m.hashvalues = np.minimum(m.hashvalues, phv.min(axis=0))
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


class Hashes:
    """A MinHash's hash values alone: all the index reads of one (an item another worker
    grouped, handed over through Redis: :mod:`.handover`)."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues


# Odd 64-bit multipliers that fold a band's hash values into one key (drawn once, fixed).
_BAND_MIX = np.random.default_rng(20).integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


class BandIndex:
    """MinHash LSH, compact: the bands datasketch's ``MinHashLSH`` chooses for the threshold
    (``b`` bands of ``r`` values), each band folded into one 64-bit key whose top bits name its
    band, so all bands share one sorted uint64 array of keys beside an int64 array of item ids
    (16 bytes an entry; a Python int per key and a dict slot were ~84, the largest holder of a
    worker's memory: bench/PROFILE.md). Inserts since the last merge wait in a small dict, and
    removed items in a set, until they reach an eighth of the arrays: then one sort merges them.
    Nothing is kept per item: removal recomputes the keys from the hash values the caller holds.
    Candidates come back in id order, so ties go to the oldest item whatever the bucket's history.
    """

    MERGE_MIN = 512  # items waiting before a merge, at least

    def __init__(self, threshold: float) -> None:
        bands = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)  # only for its choice of bands
        self.b, self.r = bands.b, bands.r
        bits = max(1, (self.b - 1).bit_length())
        self._drop = np.uint64(bits)  # a key's lowest bits give way to its band's number
        self._band = np.arange(self.b, dtype=np.uint64) << np.uint64(64 - bits)
        self._mix = _BAND_MIX[:self.r]
        self.keys = np.empty(0, dtype=np.uint64)  # sorted
        self._padded = np.zeros(1, dtype=np.uint64)  # the keys and a 0 after them (see query)
        self.ids = np.empty(0, dtype=np.int64)
        self.items = 0  # items in the arrays, the removed ones included
        # Inserted since the merge: a bucket is one item id until a second one shares it.
        self.recent: dict[int, int | list[int]] = {}
        self.fresh = 0  # items in ``recent``
        self.dead: set[int] = set()  # removed from the arrays, not yet merged out
        self._last: tuple[np.ndarray | None, np.ndarray, list[int]] = (None, self.keys, [])

    def _keys(self, values: np.ndarray) -> tuple[np.ndarray, list[int]]:
        # An item is looked up, then inserted: the keys of the last values are kept (the array
        # itself is held, so its identity cannot be reused), which halves the work.
        if values is self._last[0]:
            return self._last[1], self._last[2]
        # Products and sums of uint64 arrays wrap modulo 2^64 without a warning (that is the
        # point); uint32 values (handed over, or popped from HashRows) widen by the multiplication.
        bands = values[:self.b * self.r].reshape(self.b, self.r)
        keys = (bands * self._mix).sum(axis=1, dtype=np.uint64)
        keys >>= self._drop
        keys |= self._band
        listed = keys.tolist()
        self._last = (values, keys, listed)
        return keys, listed

    def insert(self, item_id: int, values: np.ndarray) -> None:
        if item_id in self.dead:  # back after its removal: its old entries must go first
            self._merge()
        for key in self._keys(values)[1]:
            ids = self.recent.get(key)
            if ids is None:
                self.recent[key] = item_id
            elif isinstance(ids, int):
                self.recent[key] = [ids, item_id]
            else:
                ids.append(item_id)
        self.fresh += 1
        self._merge_if_due()

    def remove(self, item_id: int, values: np.ndarray) -> None:
        keys = self._keys(values)[1]
        first = self.recent.get(keys[0])
        if not (first == item_id or (isinstance(first, list) and item_id in first)):
            self.dead.add(item_id)  # in the arrays: left out of look-ups until the merge
            self._merge_if_due()
            return
        for key in keys:
            ids = self.recent.get(key)
            if ids == item_id:
                del self.recent[key]
            elif isinstance(ids, list) and item_id in ids:
                ids.remove(item_id)
                if len(ids) == 1:
                    self.recent[key] = ids[0]
        self.fresh -= 1

    def query(self, values: np.ndarray) -> list[int]:
        keys, listed = self._keys(values)
        found: set[int] = set()
        if self.items:
            # One search, then the keys found at their places: most look-ups find none (a new
            # item shares no band with the window's), and a second search cost as much as the first.
            lo = self.keys.searchsorted(keys)  # the method: np.searchsorted adds a wrapper
            hits = np.flatnonzero(self._padded[lo] == keys)
            if len(hits):
                hi = self.keys.searchsorted(keys[hits], "right").tolist()
                for start, end in zip(lo[hits].tolist(), hi, strict=True):
                    found.update(self.ids[start:end].tolist())
                if self.dead:
                    found -= self.dead
        for key in listed:
            ids = self.recent.get(key)
            if isinstance(ids, int):
                found.add(ids)
            elif ids:
                found.update(ids)
        return sorted(found)

    def _merge_if_due(self) -> None:
        if self.fresh + len(self.dead) >= max(self.MERGE_MIN, self.items // 8):
            self._merge()

    def _merge(self) -> None:
        keys, ids = self.keys, self.ids
        if self.dead:
            keep = ~np.isin(ids, np.fromiter(self.dead, dtype=np.int64, count=len(self.dead)))
            keys, ids = keys[keep], ids[keep]
        # Comprehensions over the waiting buckets (a loop of appends was most of a merge's time).
        held = list(self.recent.values())
        counts = [1 if isinstance(h, int) else len(h) for h in held]
        new_ids = [i for h in held for i in ((h,) if isinstance(h, int) else h)]
        new_keys = np.repeat(np.fromiter(self.recent, dtype=np.uint64, count=len(held)), counts)
        keys = np.concatenate([keys, new_keys])
        ids = np.concatenate([ids, np.array(new_ids, dtype=np.int64)])
        order = np.argsort(keys, kind="stable")  # two sorted runs: timsort merges them
        self._padded = np.append(keys[order], np.uint64(0))  # a search past the end finds a key of none
        self.keys, self.ids = self._padded[:-1], ids[order]
        self.items += self.fresh - len(self.dead)
        self.recent, self.fresh, self.dead = {}, 0, set()

    def __len__(self) -> int:
        return self.items + self.fresh - len(self.dead)


class HashRows:
    """The hash values of the window's items, a row each of one uint32 matrix (they are below
    2^32: half of datasketch's uint64), rows of evicted items reused. An array object per item
    cost more than its 256 bytes of values, and stacking the candidates' arrays per look-up did too."""

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}  # item id -> its row
        self.values = np.empty((1024, NUM_PERM), dtype=np.uint32)
        self.free: list[int] = []

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.rows

    def add(self, item_id: int, values: np.ndarray) -> None:
        if self.free:
            row = self.free.pop()
        else:  # no row free: rows 0 … len - 1 are all in use
            row = len(self.rows)
            if row == len(self.values):  # by an eighth: doubling left up to half the matrix unused
                grown = np.empty((row + max(1024, row // 8), NUM_PERM), dtype=np.uint32)
                grown[:row] = self.values
                self.values = grown
        self.values[row] = values.astype(np.uint32)
        self.rows[item_id] = row

    def pop(self, item_id: int) -> np.ndarray:
        row = self.rows.pop(item_id)
        self.free.append(row)
        return self.values[row].copy()

    def jaccards(self, item_ids: list[int], m: MinHash) -> np.ndarray:
        """MinHash estimates of the Jaccard similarity of ``m`` with each of these items, in one
        numpy call: one MinHash.jaccard call per candidate cost three times more."""
        rows = self.values[[self.rows[i] for i in item_ids]]
        return (rows == m.hashvalues).sum(axis=1) / NUM_PERM


class FoldIndex:
    """Near-duplicate index over a time window; finds the original a new item copies."""

    def __init__(self, threshold: float) -> None:
        """``threshold``: the profile's ``judgement.duplicate_similarity``."""
        self.threshold = threshold
        self.lsh = BandIndex(threshold)
        # The originals' hash values, all a Jaccard estimate needs: a look-up compares only the
        # LSH's candidates, which are originals, so a copy's 512 bytes were never read.
        self.hashes = HashRows()
        self.root: dict[int, int] = {}  # item → the original it was folded into (itself if original)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.root

    def find(self, m: MinHash) -> int | None:
        """The original (first publisher) of the closest near-duplicate, if any."""
        candidates = self.lsh.query(m.hashvalues)
        if not candidates:
            return None
        same = self.hashes.jaccards(candidates, m)
        best = int(np.argmax(same))  # the first of the closest, as one at a time found it
        if same[best] < self.threshold:
            return None
        return self.root.get(candidates[best], candidates[best])

    def add(self, item_id: int, m: MinHash | Hashes, duplicate_of: int | None) -> None:
        if item_id in self.root:
            return
        self.root[item_id] = duplicate_of or item_id
        if duplicate_of is None:
            # Only originals go into the LSH: a copy resolves to its original anyway, and keeping
            # copies out stops a viral post's buckets from growing with every repost.
            self.hashes.add(item_id, m.hashvalues)
            self.lsh.insert(item_id, m.hashvalues)

    def remove(self, item_id: int) -> None:
        """Forget an item (the window's order is the caller's: :meth:`.events.Grouper.evict`)."""
        root = self.root.pop(item_id, None)
        if root == item_id:
            self.lsh.remove(item_id, self.hashes.pop(item_id))

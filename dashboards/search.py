"""全文检索 (full-text search across items), jieba-tokenised.

What we chose, and why:

* Items are cut with jieba (search mode, plus the profile's place names, topic keywords and
  watch words as user words) into the ``item_search`` table, one row per item, tokens joined
  by spaces. Chinese has no spaces, so no database tokenizer can split it well by itself;
  cutting once in Python makes both databases search words instead of characters.
* SQLite: an FTS5 index (``item_fts``, external content over ``item_search``, kept in step by
  triggers) ranked with bm25. It is created here, idempotently, because it is an index
  artefact the Alembic autogenerate cannot describe.
* PostgreSQL: every query word must be one of the item's tokens, asked of a GIN index over the
  tokens as an array (``string_to_array(btrim(tokens), ' ') @> words``, migration 0008).
  PostgreSQL's own ``to_tsvector`` parser drops CJK letters under the C locale, so the words
  are jieba's, cut once in Python; a provincial store (10^6 items) is not scanned per search.
* SQLite without FTS5: the same whole-token match as a scan (``tokens LIKE '% word %'``).
* The index is kept current incrementally: :func:`refresh_index` cuts items that are new or
  changed since they were indexed. Each search first indexes a bounded batch of items newer
  than the index (so a post crawled a moment ago is found), and the job :func:`index_new_items`
  (every minute, from the periodic scheduler) and ``yuqing search reindex`` do the rest.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, text
from sqlalchemy.exc import OperationalError

from yuqing.models import Item, ItemSearch
from yuqing.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

BATCH = 500
CATCH_UP_PER_SEARCH = 2000
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_jieba_lock = threading.Lock()
_jieba_ready: set[str] = set()
_fts_ready: dict[str, bool] = {}


def _jieba(rt: Runtime) -> ModuleType:
    import jieba  # local: heavy (its dictionary); only the web's search and its index job load it

    with _jieba_lock:
        key = rt.profile.source_path
        if key not in _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            words = [p.name for p in rt.profile.places] + list(rt.profile.watch_words)
            words += [kw for topic in rt.profile.remit.topics for kw in topic.keywords]
            for word in words:
                if word and len(word) > 1:
                    jieba.add_word(word)
            _jieba_ready.add(key)
    return jieba


def tokenize(rt: Runtime, value: str, for_query: bool = False) -> list[str]:
    """Lower-cased jieba tokens without punctuation; search mode adds sub-words for indexing."""
    jieba = _jieba(rt)
    cut = jieba.lcut(value) if for_query else jieba.lcut_for_search(value)
    return [t.lower() for t in (w.strip() for w in cut) if t and not _PUNCT.match(t)]


def ensure_fts(engine: Engine) -> bool:
    """Create the SQLite FTS5 index and its triggers if missing; False where FTS5 is unavailable."""
    url = str(engine.url)
    if url in _fts_ready:
        return _fts_ready[url]
    if engine.dialect.name != "sqlite":
        _fts_ready[url] = False
        return False
    statements = [
        "CREATE VIRTUAL TABLE IF NOT EXISTS item_fts USING fts5(tokens, content='item_search', "
        "content_rowid='item_id', tokenize='unicode61')",
        "CREATE TRIGGER IF NOT EXISTS item_search_ai AFTER INSERT ON item_search BEGIN "
        "INSERT INTO item_fts(rowid, tokens) VALUES (new.item_id, new.tokens); END",
        "CREATE TRIGGER IF NOT EXISTS item_search_ad AFTER DELETE ON item_search BEGIN "
        "INSERT INTO item_fts(item_fts, rowid, tokens) VALUES ('delete', old.item_id, old.tokens); END",
        "CREATE TRIGGER IF NOT EXISTS item_search_au AFTER UPDATE ON item_search BEGIN "
        "INSERT INTO item_fts(item_fts, rowid, tokens) VALUES ('delete', old.item_id, old.tokens); "
        "INSERT INTO item_fts(rowid, tokens) VALUES (new.item_id, new.tokens); END",
    ]
    try:
        with engine.begin() as conn:
            existed = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='item_fts'")).first()
            for stmt in statements:
                conn.execute(text(stmt))
            if not existed:
                conn.execute(text("INSERT INTO item_fts(item_fts) VALUES ('rebuild')"))
        _fts_ready[url] = True
    except OperationalError as exc:  # an SQLite built without FTS5
        log.warning("FTS5 unavailable, search falls back to token matching: %s", exc)
        _fts_ready[url] = False
    return _fts_ready[url]


def refresh_index(rt: Runtime, limit: int | None = None, new_only: bool = False) -> int:
    """Cut items that are new or changed since indexed; return how many were indexed.

    ``new_only`` looks only past the newest indexed item: an index range read instead of a scan
    of every item, cheap enough to run before each search (changed items wait for the job).
    """
    ensure_fts(rt.engine)
    done = 0
    changed = func.coalesce(Item.updated_at, Item.analysed_at, Item.fetched_at)
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        with rt.session() as s:
            if new_only:
                newest = s.scalar(select(func.max(ItemSearch.item_id))) or 0
                query = select(Item.id, Item.title, Item.text).where(Item.id > newest)
            else:
                query = (select(Item.id, Item.title, Item.text)
                         .outerjoin(ItemSearch, ItemSearch.item_id == Item.id)
                         .where(or_(ItemSearch.item_id.is_(None), ItemSearch.indexed_at < changed)))
            rows = s.execute(query.order_by(Item.id).limit(size)).all()
            if not rows:
                break
            now = rt.now()
            ids = [r.id for r in rows]
            s.execute(delete(ItemSearch).where(ItemSearch.item_id.in_(ids)))
            s.execute(insert(ItemSearch), [
                {"item_id": r.id, "indexed_at": now,
                 "tokens": " " + " ".join(tokenize(rt, f"{r.title}\n{r.text}")) + " "} for r in rows])
        done += len(rows)
    return done


def index_new_items() -> int:
    """Job (RQ, periodic): bring the search index up to date."""
    return refresh_index(get_runtime())


@dataclass
class Hit:
    item: Item
    snippet: str


def search_items(rt: Runtime, query: str, limit: int = 50) -> list[Hit]:
    """Items matching every word of ``query`` (jieba-cut), best first."""
    words = list(dict.fromkeys(tokenize(rt, query, for_query=True)))[:12]
    if not words:
        return []
    refresh_index(rt, CATCH_UP_PER_SEARCH, new_only=True)
    with rt.session() as s:
        if ensure_fts(rt.engine):
            match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
            ids = [r[0] for r in s.execute(text(
                "SELECT rowid FROM item_fts WHERE item_fts MATCH :q ORDER BY bm25(item_fts) LIMIT :n"),
                {"q": match, "n": limit})]
        elif rt.engine.dialect.name == "postgresql":
            ids = list(s.scalars(text(PG_SEARCH), {"words": words, "n": limit}))
        else:
            conds = [ItemSearch.tokens.like(f"% {_like(w)} %", escape="\\") for w in words]
            ids = list(s.scalars(select(ItemSearch.item_id).where(and_(*conds))
                                 .order_by(ItemSearch.item_id.desc()).limit(limit)))
        items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_(ids)))}
    return [Hit(items[i], snippet(items[i], words)) for i in ids if i in items]


# Every query word a token, through the GIN index over the tokens (ix_item_search_tokens_gin:
# the expression must be this one). Its cost is known to the planner once the table has been
# vacuumed (autovacuum does it); a fresh index's unknown size made it prefer a scan.
PG_SEARCH = ("SELECT item_id FROM item_search WHERE string_to_array(btrim(tokens), ' ') @> CAST(:words AS text[])"
             " ORDER BY item_id DESC LIMIT :n")


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def snippet(item: Item, words: list[str], width: int = 60) -> str:
    """Plain text around the first query word (escaped later by the template, like all crawled text)."""
    body = re.sub(r"\s+", " ", item.text or item.title or "")
    lower = body.lower()
    at = min((p for p in (lower.find(w) for w in words) if p >= 0), default=0)
    start = max(0, at - width // 3)
    return ("…" if start else "") + body[start:start + width] + ("…" if start + width < len(body) else "")

"""Full-text search (全文检索): jieba-cut tokens, SQLite FTS5 kept in step, token matching on PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from dashboard_seed import seed_story
from sqlalchemy import select, text

from yuqing.dashboards.search import PG_SEARCH, ensure_fts, refresh_index, search_items, tokenize
from yuqing.models import Item, ItemSearch


def test_tokens_are_words_not_characters(runtime) -> None:  # type: ignore[no-untyped-def]
    tokens = tokenize(runtime, "泽州县某煤矿发生透水事故！", for_query=True)
    assert "泽州县" in tokens and "透水" in tokens and "！" not in tokens


def test_search_finds_words_and_follows_changes(runtime) -> None:  # type: ignore[no-untyped-def]
    seed_story(runtime)
    assert ensure_fts(runtime.engine)
    hits = search_items(runtime, "透水 矿工")
    assert hits and all("透水" in (h.item.title + h.item.text) for h in hits)
    assert all("矿工" in (h.item.title + h.item.text) for h in hits)
    assert not search_items(runtime, "透水 山火")  # every word must match
    assert search_items(runtime, "积水")[0].snippet.startswith("暴雨后")
    # a changed item is re-cut; the FTS index follows through the triggers
    with runtime.session() as s:
        item = s.scalar(select(Item).where(Item.title == "山上冒烟"))
        item.text = "确认为烧荒，并非山火"
        item.updated_at = runtime.clock.advance(minutes=5)
    assert refresh_index(runtime) == 1
    assert [h.item.title for h in search_items(runtime, "烧荒")] == ["山上冒烟"]
    with runtime.engine.connect() as conn:
        fts = conn.execute(text("SELECT count(*) FROM item_fts WHERE item_fts MATCH '\"烧荒\"'")).scalar()
    assert fts == 1


def test_query_syntax_is_not_injected(runtime) -> None:  # type: ignore[no-untyped-def]
    seed_story(runtime)
    assert search_items(runtime, 'OR " NEAR( * 透水') is not None  # no FTS5 syntax error
    assert search_items(runtime, "！！！") == []


@pytest.mark.postgres
def test_postgres_matches_whole_tokens(pg_server, settings, profile, clock, redis) -> None:  # type: ignore[no-untyped-def]
    from yuqing.runtime import Runtime

    url = pg_server.migrated_database("yuqing_search")
    rt = Runtime(settings=settings.model_copy(update={"database_url": url}), profile=profile, clock=clock, redis=redis)
    with rt.session() as s:
        for n, body in enumerate(["煤矿透水事故救援", "水透明度检测", "透水混凝土路面"]):
            s.add(Item(url=f"http://x/{n}", url_hash=hashlib.sha256(f"{n}{body}".encode()).hexdigest(), title=body,
                       text=body, content_hash="c", fetched_at=clock.now()))
    assert not ensure_fts(rt.engine)
    titles = {h.item.title for h in search_items(rt, "透水")}
    assert titles == {"煤矿透水事故救援", "透水混凝土路面"}  # not 水透明度 (characters, not the word)
    with rt.session() as s:
        assert s.scalar(select(ItemSearch.tokens).limit(1)).startswith(" ")
    rt.engine.dispose()


@pytest.mark.postgres
def test_postgres_search_uses_the_token_index(pg_server, settings, profile, clock, redis) -> None:  # type: ignore[no-untyped-def]
    """Search on PostgreSQL finds by whole token through the GIN index, not a scan of every row."""
    from sqlalchemy import insert, text

    from yuqing.runtime import Runtime

    url = pg_server.migrated_database("yuqing_search_gin")
    rt = Runtime(settings=settings.model_copy(update={"database_url": url}), profile=profile, clock=clock, redis=redis)
    filler = ["市民 反映 道路 积水", "天气 晴朗 气温 回升", "交通 拥堵 早高峰", "学校 开学 典礼"]
    rows = [(n, "煤矿 透水 救援" if n % 8000 == 0 else filler[n % len(filler)]) for n in range(1, 40001)]
    with rt.engine.begin() as conn:
        conn.execute(insert(Item), [{"id": n, "url": f"http://x/{n}", "url_hash": hashlib.sha256(str(n).encode()).hexdigest(),
                                     "title": "", "text": body.replace(" ", ""), "content_hash": "c",
                                     "fetched_at": clock.now()} for n, body in rows])
        conn.execute(insert(ItemSearch), [{"item_id": n, "tokens": f" {body} ", "indexed_at": clock.now()}
                                          for n, body in rows])
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE item_search"))  # what autovacuum does: the index's size known
    hits = search_items(rt, "透水")
    assert sorted(h.item.id for h in hits) == [8000, 16000, 24000, 32000, 40000]
    assert search_items(rt, "透") == []  # a character is not a token
    with rt.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + PG_SEARCH), {"words": ["透水"], "n": 50}))
    assert "ix_item_search_tokens_gin" in plan, plan
    rt.engine.dispose()

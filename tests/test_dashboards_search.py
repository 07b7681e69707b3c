"""Full-text search (全文检索): jieba-cut tokens, SQLite FTS5 kept in step, token matching on PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from yuqing.dashboards.search import ensure_fts, refresh_index, search_items, tokenize
from yuqing.dashboards.seed import seed_story
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

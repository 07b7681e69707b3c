"""Source YAML: strict validation with errors naming file, source and field; loading by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from yuqing.crawlers.exceptions import SourceError
from yuqing.crawlers.sources import load_sources_into_store, upsert_sources
from yuqing.demo import DemoSite
from yuqing.models import Source
from yuqing.runtime import Runtime

GOOD = """
sources:
  - key: jc-news
    name: 晋城新闻网
    kind: listing
    urls: ["http://news.example.cn/list/"]
    interval_minutes: 15
    tier: local
    listing: {links: "ul.news a::attr(href)", title: "h1::text", body: ".content"}
  - key: sx-rss
    name: 山西日报
    kind: feed
    urls: ["http://sx.example.cn/rss.xml"]
    tier: provincial
    obey_robots: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_and_upsert_keep_health(runtime: Runtime, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    assert load_sources_into_store(runtime, path) == 2
    with runtime.session() as s:
        src = s.scalars(select(Source).where(Source.key == "jc-news")).one()
        assert (src.kind, src.tier, src.interval_minutes, src.enabled) == ("listing", "local", 15, True)
        assert src.settings["listing"]["links"] == "ul.news a::attr(href)"
        assert src.settings["obey_robots"] is True and src.next_run_at == runtime.now()
        src.consecutive_failures = 2
    assert load_sources_into_store(runtime, _write(tmp_path, GOOD.replace("晋城新闻网", "晋城新闻"))) == 2
    with runtime.session() as s:
        rows = {r.key: r for r in s.scalars(select(Source))}
        assert len(rows) == 2 and rows["jc-news"].name == "晋城新闻" and rows["jc-news"].consecutive_failures == 2
        assert rows["sx-rss"].settings["obey_robots"] is False


def test_demo_sources_and_profile_inline_sources(runtime: Runtime) -> None:
    site = DemoSite()
    try:
        assert upsert_sources(runtime, site.sources()) == 3
    finally:
        site.server.server_close()
    runtime.profile = runtime.profile.model_copy(update={"sources": [
        {"key": "inline", "name": "画像信源", "kind": "sitemap", "urls": ["https://x.example.cn/sitemap.xml"],
         "tier": "central"}]})
    assert load_sources_into_store(runtime, None) == 1
    with runtime.session() as s:
        assert {r.key for r in s.scalars(select(Source))} == {"demo-news", "demo-rss", "demo-social", "inline"}


def test_init_again_leaves_a_starter_source_the_admin_enabled_on(runtime: Runtime, tmp_path: Path) -> None:
    runtime.profile = runtime.profile.model_copy(update={"sources": [
        {"key": "starter", "name": "县政府网站", "kind": "sitemap", "urls": ["https://x.example.cn/sitemap.xml"],
         "tier": "government", "enabled": False}]})
    load_sources_into_store(runtime, None)  # the first init
    with runtime.session() as s:
        row = s.scalars(select(Source).where(Source.key == "starter")).one()
        assert not row.enabled
        row.enabled = True  # checked and switched on by the administrator
    load_sources_into_store(runtime, None)  # init again
    with runtime.session() as s:
        assert s.scalars(select(Source).where(Source.key == "starter")).one().enabled
    text = ("sources:\n  - key: starter\n    name: 县政府网站\n    kind: sitemap\n"
            "    urls: [https://x.example.cn/sitemap.xml]\n    tier: government\n    enabled: false\n")
    load_sources_into_store(runtime, _write(tmp_path, text))  # a file says off: it is off
    with runtime.session() as s:
        assert not s.scalars(select(Source).where(Source.key == "starter")).one().enabled


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("    tier: provincial\n", "    tier: provincial\n    colour: red\n"),
     "sources.yaml: sources[1]（sx-rss）: 字段 colour: 未知字段"),
    (GOOD.replace("tier: local", "tier: village"),
     "sources.yaml: sources[0]（jc-news）: 字段 tier: 应为 'central', 'provincial', 'local', "
     "'government', 'social' 或 'forum'（实际为 'village'）"),
    (GOOD.replace('listing: {links: "ul.news a::attr(href)", ', "listing: {"),
     "sources.yaml: sources[0]（jc-news）: 字段 listing.links: 缺少必填字段"),
    (GOOD.replace("kind: feed", "kind: json_api"),
     "sources.yaml: sources[1]（sx-rss）: 字段 （整体）: kind 为 json_api 的信源需要 json_api 设置"),
    (GOOD.replace('["http://sx.example.cn/rss.xml"]', '["ftp://sx.example.cn/rss.xml"]'),
     "sources.yaml: sources[1]（sx-rss）: 字段 urls: 网址须以 http:// 或 https:// 开头：'ftp://sx.example.cn/rss.xml'"),
    (GOOD.replace("key: sx-rss", "key: jc-news"), "sources.yaml: sources[1]（jc-news）: 字段 key: 与前面的信源重复"),
    ("sources:\n  - key: a\n    name: A\n    kind: json_api\n    urls: ['http://a.cn/x']\n    tier: social\n"
     "    json_api: {items: 'data.[['}\n",
     "sources.yaml: sources[0]（a）: 字段 json_api: items 不是有效的 JMESPath：'data.[['"),
    ("feeds: []\n", "sources.yaml: 顶层应有 sources: 列表"),
    ("sources: [\n", "sources.yaml: YAML 格式错误"),
])
def test_errors_name_file_source_and_field(runtime: Runtime, tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SourceError) as err:
        load_sources_into_store(runtime, _write(tmp_path, text))
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(message)
    with runtime.session() as s:
        assert s.scalars(select(Source)).first() is None  # nothing half-loaded

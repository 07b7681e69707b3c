"""Sources (信源): the YAML schema, validated strictly, and loading into the store.

A file has a top-level ``sources:`` list (the profile may carry the same list inline). Each
source: ``key``, ``name``, ``kind`` (feed | listing | sitemap | json_api | hotlist), ``urls``,
``interval_minutes``, ``tier`` (central | provincial | local | government | social | forum),
``enabled``, ``obey_robots`` (default true), ``item_changes`` (default false), and the
kind's own settings under a key named after the kind (see the spider modules and
crawlers/README.md). Unknown keys are errors naming the file, the source and the field.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select

from yuqing.models import Source
from yuqing.validation import explain, given
from yuqing.yamlload import load_config_yaml

from .exceptions import SourceError

log = logging.getLogger(__name__)

KINDS = ("feed", "listing", "sitemap", "json_api", "hotlist")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArticleSelectors(Strict):
    title: str | None = None
    time: str | None = None
    author: str | None = None
    source_unit: str | None = None  # 来源单位
    body: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)


class FeedSettings(ArticleSelectors):
    follow: bool = False


class ListingSettings(ArticleSelectors):
    links: str
    next: str | None = None
    max_pages: int = Field(5, ge=1, le=100)
    allow: str | None = None


class SitemapSettings(ArticleSelectors):
    since_days: float = Field(3, gt=0)
    max_items: int = Field(200, ge=1)
    allow: str | None = None


class Paging(Strict):
    param: str
    start: int = 1
    max_pages: int = Field(1, ge=1, le=100)


class JsonApiSettings(Strict):
    preset: Literal["weibo_search", "message_board"] | None = None
    items: str | None = None
    id: str | None = None
    url: str | None = None
    url_template: str | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None
    published_at: str | None = None
    reply: str | None = None
    engagement: dict[str, str] | None = None
    paging: Paging | None = None
    next: str | None = None
    params: dict[str, str | int] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)
    platform: str | None = None

    @model_validator(mode="after")
    def _mapping(self) -> JsonApiSettings:
        if not self.preset and not self.items:
            raise ValueError("需要 items（帖文列表的 JMESPath）或 preset")
        paths = {k: getattr(self, k) for k in ("items", "id", "url", "title", "text", "author",
                                               "published_at", "reply", "next")}
        paths.update({f"engagement.{k}": v for k, v in (self.engagement or {}).items()})
        for name, path in paths.items():
            if path:
                try:
                    jmespath.compile(path)
                except JMESPathError as exc:
                    raise ValueError(f"{name} 不是有效的 JMESPath：{path!r}（{exc}）") from exc
        return self


class HotlistSettings(Strict):
    """热榜: see spiders/hotlist.py."""

    preset: Literal["weibo_hot", "baidu_hot", "toutiao_hot"] | None = None
    format: Literal["json", "html"] | None = None
    items: str | None = None
    title: str | None = None
    url: str | None = None
    heat: str | None = None
    skip: str | None = None
    url_template: str | None = None
    embedded: str | None = None
    min_entries: int = Field(5, ge=1, le=500)
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mapping(self) -> HotlistSettings:
        if not self.preset and not (self.items and self.title):
            raise ValueError("需要 preset（weibo_hot、baidu_hot、toutiao_hot），或 items 与 title")
        if self.embedded:
            try:
                re.compile(self.embedded)
            except re.error as exc:
                raise ValueError(f"embedded 不是有效的正则表达式：{self.embedded!r}（{exc}）") from exc
        return self


KIND_MODELS: dict[str, type[Strict]] = {"feed": FeedSettings, "listing": ListingSettings,
                                        "sitemap": SitemapSettings, "json_api": JsonApiSettings,
                                        "hotlist": HotlistSettings}


class SourceSpec(Strict):
    """One source as written in YAML."""

    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["feed", "listing", "sitemap", "json_api", "hotlist"]
    urls: list[str] = Field(min_length=1)
    interval_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    tier: Literal["central", "provincial", "local", "government", "social", "forum"]
    enabled: bool = True
    obey_robots: bool = True
    item_changes: bool = False
    feed: FeedSettings | None = None
    listing: ListingSettings | None = None
    sitemap: SitemapSettings | None = None
    json_api: JsonApiSettings | None = None
    hotlist: HotlistSettings | None = None

    @field_validator("urls")
    @classmethod
    def _http(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"网址须以 http:// 或 https:// 开头：{url!r}")
        return urls

    @model_validator(mode="after")
    def _kind_settings(self) -> SourceSpec:
        for other in KINDS:
            if other != self.kind and getattr(self, other) is not None:
                raise ValueError(f"kind 为 {self.kind} 的信源不能有 {other} 设置")
        if self.kind in ("listing", "json_api", "hotlist") and getattr(self, self.kind) is None:
            raise ValueError(f"kind 为 {self.kind} 的信源需要 {self.kind} 设置")
        return self

    def settings_dict(self) -> dict[str, Any]:
        """What goes to Source.settings: the flags and the kind's own settings."""
        kind_cfg = getattr(self, self.kind)
        return {"obey_robots": self.obey_robots, "item_changes": self.item_changes,
                self.kind: kind_cfg.model_dump(exclude_none=True) if kind_cfg else {}}


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "（整体）"
    msg = "未知字段" if err["type"] == "extra_forbidden" else f"{explain(err)}{given(err)}"  # Chinese, not pydantic's English
    return f"字段 {loc}: {msg}"


def validate_sources(raw: Any, origin: str) -> list[SourceSpec]:
    """Validate a list of source dicts; errors name ``origin``, the index/key and the field."""
    if not isinstance(raw, list):
        raise SourceError(f"{origin}: sources 应为列表")
    specs: list[SourceSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        key = entry.get("key", "?") if isinstance(entry, dict) else "?"
        where = f"{origin}: sources[{index}]（{key}）"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: 应为映射（key: value）")
        try:
            spec = SourceSpec(**entry)
        except ValidationError as exc:
            raise SourceError(f"{where}: {_describe(exc)}") from exc
        if spec.key in seen:
            raise SourceError(f"{where}: 字段 key: 与前面的信源重复")
        seen.add(spec.key)
        specs.append(spec)
    return specs


def read_sources_file(path: str | Path) -> list[SourceSpec]:
    path = Path(path)
    try:
        data = load_config_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: 信源文件不存在") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: 信源文件不是 UTF-8 编码") from exc
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: YAML 格式错误: {exc}") from exc
    if not isinstance(data, dict) or "sources" not in data:
        raise SourceError(f"{path}: 顶层应有 sources: 列表")
    extra = set(data) - {"sources"}
    if extra:
        raise SourceError(f"{path}: 未知的顶层字段 {', '.join(sorted(extra))}")
    return validate_sources(data["sources"], str(path))


def _upsert(rt: Any, specs: list[SourceSpec], keep_enabled: bool = False) -> int:
    """Create or update sources by key; with ``keep_enabled`` a stored source keeps its on/off
    state (the profile's starter list, re-applied by every ``init``, ships them off)."""
    now = rt.now()
    with rt.session() as s:
        existing = {src.key: src for src in s.scalars(select(Source).where(
            Source.key.in_([spec.key for spec in specs])))}
        for spec in specs:
            row = existing.get(spec.key)
            if row is None:
                row = Source(key=spec.key, created_at=now, next_run_at=now, http_cache={}, enabled=spec.enabled)
                s.add(row)
            elif not keep_enabled:
                row.enabled = spec.enabled
            row.name, row.kind, row.urls, row.tier = spec.name, spec.kind, list(spec.urls), spec.tier
            row.interval_minutes = spec.interval_minutes
            row.settings = spec.settings_dict()
    log.info("upserted %d sources", len(specs))
    return len(specs)


def upsert_sources(rt: Any, dicts: list[dict[str, Any]], origin: str = "信源") -> int:
    """Create or update sources by key (health is kept); returns how many were given."""
    return _upsert(rt, validate_sources(dicts, origin))


def load_sources_into_store(rt: Any, path_or_none: str | Path | None) -> int:
    """Load a sources YAML file (as written, on/off included), or the profile's inline
    ``sources:`` when None (a source already stored keeps whether it is on)."""
    if path_or_none:
        return _upsert(rt, read_sources_file(path_or_none))
    origin = f"{rt.profile.source_path or '单位画像'} 的 sources"
    return _upsert(rt, validate_sources(list(rt.profile.sources or []), origin), keep_enabled=True)

"""Errors of the crawlers: each names the file, the source and the field that was wrong."""

from yuqing.exceptions import YuqingError


class SourceError(YuqingError):
    """A source (信源) definition is invalid: names the file, the source index/key and the field."""

    hint = "对照 crawlers/README.md 的信源 YAML 说明检查该字段。"


class CrawlError(YuqingError):
    """A crawl could not be started (unknown source, disabled source, no such key)."""

    hint = "运行 `yuqing sources list` 查看已登记的信源。"

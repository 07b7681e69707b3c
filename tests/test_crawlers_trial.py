"""`yuqing sources try URL`: the kind of a URL detected (listing, feed, sitemap, JSON API, hot
list), what would be extracted from it and from two of its articles, selectors suggested, and
the source entry printed or saved so that `yuqing sources load` takes it as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from testsite import Page, TestSite
from typer.testing import CliRunner

from yuqing.crawlers.jobs import child_env
from yuqing.runtime import Runtime

DATA = Path(__file__).parent / "data" / "crawlers"


@pytest.fixture
def site() -> TestSite:  # type: ignore[misc]
    s = TestSite({
        "/zwdt/index.html": Page((DATA / "trs_list.html").read_bytes(), content_type="text/html"),
        "/rss.xml": Page((DATA / "illformed_rss.xml").read_text(encoding="utf-8").replace("{base}", "http://x.cn"),
                         content_type="application/rss+xml"),
        "/hot.json": Page((DATA / "weibo_hot.json").read_bytes(), content_type="application/json"),
        "/board.html": Page((DATA / "baidu_hot.html").read_bytes(), content_type="text/html; charset=utf-8"),
        "/weibo": Page((DATA / "weibo_search_p1.json").read_bytes(), content_type="application/json"),
    })
    for path in DATA.glob("trs_*.html"):
        s.routes[f"/zwdt/{path.name}"] = Page(path.read_bytes(), content_type="text/html")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key, value in child_env(runtime.settings).items():
        if key.startswith("YUQING_"):
            monkeypatch.setenv(key, value)
    return CliRunner()


def test_try_a_government_column_and_save_it(cli: CliRunner, site: TestSite, tmp_path: Path) -> None:
    from yuqing.cli import app

    out = cli.invoke(app, ["sources", "try", f"{site.url}/zwdt/index.html", "--key", "zezhou", "--name", "泽州县政府"])
    assert out.exit_code == 0, out.output
    assert "类型：列表页（listing）" in out.output
    assert "标题：泽州县召开冬季安全生产工作推进会" in out.output
    assert "来源：泽州县应急管理局" in out.output and "时间：2026-11-20 16:30" in out.output
    assert "正文：11月20日，泽州县应急管理局组织召开冬季安全生产工作推进会" in out.output
    entry = yaml.safe_load(out.output[out.output.index("sources:"):])["sources"][0]
    assert entry["listing"] == {"links": "ul.list a"} and entry["key"] == "zezhou"
    saved = tmp_path / "sources.yaml"
    assert cli.invoke(app, ["sources", "try", f"{site.url}/zwdt/index.html", "--key", "zezhou",
                            "--save", str(saved)]).exit_code == 0
    loaded = cli.invoke(app, ["sources", "load", str(saved)])
    assert loaded.exit_code == 0 and "已载入 1 个信源" in loaded.output, loaded.output


@pytest.mark.parametrize(("path", "kind", "shown"), [
    ("/rss.xml", "订阅源（feed）", "标题：晋城市召开安全生产会议"),
    ("/hot.json", "热榜（hotlist）", "第1名 泽州县巴公镇煤矿透水事故救援进展"),
    ("/board.html", "热榜（hotlist）", "第1名 晋城暴雪致多条道路封闭"),
    # as the crawl stores it: the post's first sentence as its title, no markup, Beijing time
    ("/weibo", "JSON 接口（json_api）", "标题：泽州县巴公镇煤矿@某某透水，有人被困\n    时间：2020-09-17 14:05"),
    ("/rss.xml", "订阅源（feed）", "时间：2026-11-19 14:05"),  # RFC 822 GMT read, shown in Beijing time
])
def test_try_detects_the_kind(cli: CliRunner, site: TestSite, path: str, kind: str, shown: str) -> None:
    from yuqing.cli import app

    out = cli.invoke(app, ["sources", "try", f"{site.url}{path}"])
    assert out.exit_code == 0, out.output
    assert f"类型：{kind}" in out.output and shown in out.output, out.output


def test_try_a_bad_url_says_why(cli: CliRunner, site: TestSite) -> None:
    from yuqing.cli import app

    out = cli.invoke(app, ["sources", "try", f"{site.url}/missing.html"])  # the CLI's main prints the error
    assert out.exit_code != 0 and "服务器返回 HTTP 404" in str(out.exception) and "Traceback" not in out.output
    out = cli.invoke(app, ["sources", "try", "ftp://x.cn/"])
    assert out.exit_code != 0 and "http:// 或 https://" in str(out.exception)

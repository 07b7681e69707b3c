"""Crawl jobs and source health: due sources enqueued once, runs judged by their stats, unhealthy
sources alerted once, a hanging crawl killed at its timeout, secrets never logged, the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select
from testsite import Page, TestSite, hang
from typer.testing import CliRunner

from yuqing.crawlers.health import judge, record_run
from yuqing.crawlers.jobs import child_env, crawl_source, enqueue_due_sources
from yuqing.crawlers.sources import upsert_sources
from yuqing.models import Source, SourceRun
from yuqing.runtime import Runtime, set_runtime

pytestmark = pytest.mark.slow  # real crawls of a local site


def _src(key: str, url: str = "http://127.0.0.1:9/feed.xml", **extra: object) -> dict:
    return {"key": key, "name": key, "kind": "feed", "tier": "local", "urls": [url], **extra}


def _id(rt: Runtime, key: str) -> int:
    with rt.session() as s:
        return s.scalars(select(Source.id).where(Source.key == key)).one()


def test_due_sources_enqueued_once_each(runtime: Runtime) -> None:
    upsert_sources(runtime, [_src("a"), _src("b"), _src("off", enabled=False), _src("later")])
    with runtime.session() as s:
        s.scalars(select(Source).where(Source.key == "later")).one().next_run_at = runtime.now() + timedelta(minutes=5)
    assert enqueue_due_sources() == 2
    assert enqueue_due_sources() == 0  # still waiting: not doubled
    crawl = Queue("crawl", connection=runtime.redis)
    assert sorted(crawl.job_ids) == sorted(f"crawl-source-{_id(runtime, k)}" for k in ("a", "b"))
    assert crawl.jobs[0].timeout == runtime.settings.crawl_job_timeout + 120


def _report(found: int = 0, errors: int = 0, new: int = 0) -> dict:
    return {"ok": True, "stats": {"yuqing/found": found, "yuqing/items_new": new,
                                  "yuqing/errors": [{"url": "u", "reason": "服务器返回 HTTP 503"}] * errors,
                                  "yuqing/errors_count": errors}}


def test_health_turns_red_once_and_recovers(runtime: Runtime) -> None:
    upsert_sources(runtime, [_src("flaky"), _src("quiet")])
    flaky, quiet = _id(runtime, "flaky"), _id(runtime, "quiet")
    notify = Queue("notify", connection=runtime.redis)
    now = runtime.now()
    assert judge(_report(found=2, errors=1)).status == "partial"
    assert judge(None, "崩溃").reason == "崩溃"
    for _ in range(2):
        assert not record_run(runtime, flaky, judge(_report(errors=1)), now, now)
    assert notify.count == 0
    assert record_run(runtime, flaky, judge(_report(errors=2)), now, now)
    assert not record_run(runtime, flaky, judge(_report(errors=1)), now, now)  # already red: no second alert
    assert notify.job_ids == [f"source-unhealthy-{flaky}"]
    assert notify.jobs[0].func_name == "yuqing.alerts.jobs.source_unhealthy" and notify.jobs[0].args == (flaky,)
    with runtime.session() as s:
        src = s.get(Source, flaky)
        assert (src.healthy, src.consecutive_failures, src.last_status) == (False, 4, "failed")
        assert src.last_error == "服务器返回 HTTP 503"
        assert src.next_run_at == now + timedelta(minutes=30)
    record_run(runtime, flaky, judge(_report(found=3, new=3)), now, now)
    with runtime.session() as s:
        src = s.get(Source, flaky)
        assert (src.healthy, src.consecutive_failures, src.last_success_at, src.total_items) == (True, 0, now, 3)

    # Empty runs count only once the source has yielded; three in a row turn it red.
    record_run(runtime, quiet, judge(_report()), now, now)
    with runtime.session() as s:
        assert s.get(Source, quiet).empty_runs == 0
    record_run(runtime, quiet, judge(_report(found=5, new=5)), now, now)
    turned = [record_run(runtime, quiet, judge(_report()), now, now) for _ in range(3)]
    assert turned == [False, False, True]
    with runtime.session() as s:
        src = s.get(Source, quiet)
        assert not src.healthy and src.last_error.startswith("连续 3 次未采集到任何条目（此前有数据）")
        assert [r.status for r in s.scalars(select(SourceRun).where(SourceRun.source_id == quiet))] == \
            ["empty", "ok", "empty", "empty", "empty"]


def test_hanging_crawl_is_killed_at_its_timeout(runtime: Runtime) -> None:
    site = TestSite()
    site.routes["/feed.xml"] = hang(site)
    site.start()
    try:
        rt = Runtime(settings=runtime.settings.model_copy(update={"crawl_job_timeout": 10, "crawl_timeout": 120}),
                     profile=runtime.profile, clock=runtime.clock, redis=runtime.redis)
        set_runtime(rt)
        upsert_sources(rt, [_src("stuck", f"{site.url}/feed.xml", obey_robots=False)])
        result = crawl_source(_id(rt, "stuck"))
    finally:
        site.stop()
    assert result["status"] == "timeout"
    assert result["reason"] == "采集超过 10 秒（crawl_job_timeout），子进程已被终止"
    with rt.session() as s:
        assert s.get(Source, _id(rt, "stuck")).consecutive_failures == 1


def test_cookies_and_headers_never_logged(runtime: Runtime) -> None:
    site = TestSite({"/api": Page('{"data": {"list": []}}', content_type="application/json")}).start()
    try:
        upsert_sources(runtime, [{"key": "board", "name": "留言板", "kind": "json_api", "tier": "government",
                                  "urls": [f"{site.url}/api"], "obey_robots": False,
                                  "json_api": {"preset": "message_board", "headers": {"Authorization": "Bearer hdr-secret"},
                                               "cookies": {"session": "cookie-secret"}}}])
        env = child_env(runtime.settings.model_copy(update={"log_level": "DEBUG"}))
        done = subprocess.run([sys.executable, "-m", "yuqing.crawlers.run", str(_id(runtime, "board"))],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        site.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    sent = site.requests[-1][1]
    assert sent["authorization"] == "Bearer hdr-secret" and "session=cookie-secret" in sent["cookie"]
    assert "DEBUG" in done.stderr
    for secret in ("hdr-secret", "cookie-secret"):
        assert secret not in done.stderr and secret not in done.stdout


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    for key, value in child_env(runtime.settings).items():
        if key.startswith("YUQING_"):
            monkeypatch.setenv(key, value)
    return runtime


def test_cli_crawl_and_check(cli_env: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yuqing.cli import app

    site = TestSite({"/ok.xml": Page('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                                     '<item><title>泽州县召开会议</title><link>http://x.cn/1</link></item>'
                                     '</channel></rss>', content_type="application/rss+xml"),
                     "/bad.xml": Page("gone", status=410)}).start()
    path = tmp_path / "s.yaml"
    path.write_text(f"sources:\n- {{key: good, name: 好, kind: feed, tier: local, urls: ['{site.url}/ok.xml']}}\n"
                    f"- {{key: bad, name: 坏, kind: feed, tier: local, urls: ['{site.url}/bad.xml']}}\n",
                    encoding="utf-8")
    runner = CliRunner()
    try:
        out = runner.invoke(app, ["sources", "load", str(path)])
        assert out.exit_code == 0 and "已载入 2 个信源" in out.output
        out = runner.invoke(app, ["crawl", "good", "bad"])
    finally:
        site.stop()
    assert out.exit_code == 0, out.output
    assert "good" in out.output and "正常" in out.output and "新增 1" in out.output
    assert "原因：服务器返回 HTTP 410" in out.output and "失败 1 个" in out.output
    listed = runner.invoke(app, ["sources", "list"])
    assert "bad" in listed.output and "共 2 个信源" in listed.output
    assert runner.invoke(app, ["sources", "check"]).exit_code == 0
    with cli_env.session() as s:
        s.scalars(select(Source).where(Source.key == "bad")).one().healthy = False
    checked = runner.invoke(app, ["sources", "check"])
    assert checked.exit_code == 1 and "异常 1 个" in checked.output and "服务器返回 HTTP 410" in checked.output
    assert runner.invoke(app, ["crawl", "nope"]).exit_code != 0

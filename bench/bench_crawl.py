"""Benchmark: our listing spider (with its middlewares, normalising and storing pipelines)
against a bare Scrapy spider that only fetches and extracts the same fields, on one local
site of article pages, in the same run. Prints pages/s of each and the ratio (target ≥ 0.8).

    python bench/bench_crawl.py [--articles 3000] [--rounds 3] [--profile ours.prof]

The machine may be shared: each round runs the two crawls back to back (the order alternating
from round to round) and gives a ratio; the figure is the median round.

``--profile FILE``: our crawl process runs under cProfile and writes its profile there
(``python -m pstats FILE``); the rate it prints is then not the benchmark's figure.

Both run in their own child process with the same network settings, from
``bench/crawl_settings_no_throttle.py`` (robots.txt, timeouts, AutoThrottle off and the
concurrency caps raised: under the shipped caps both wait on the same round trips and the
ratio says nothing about per-page cost) and the same ``CONCURRENT_ITEMS`` (ours ships 8, not
Scrapy's 100: a Scrapy setting, not our per-page cost, so the bare one gets it too); rates come from each crawl's own Scrapy stats
(elapsed time from engine start to finish), so process start-up is left out for both. Ours
pays for everything it does per page: charset repair, the 政府网站 meta tags and containers,
normalising, storing to SQLite, the compressed 原文快照, enqueueing analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis import Redis

SELECTORS = {"links": "ul.news a::attr(href)", "next": "a.next::attr(href)", "title": "h1::text",
             "time": ".time::text", "author": ".author::text", "body": ".content"}
PER_PAGE = 100


def build_site(articles: int):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' local site
    from testsite import Page, TestSite

    site = TestSite({"/robots.txt": Page("User-agent: *\nAllow: /\n", content_type="text/plain")})
    pages = (articles + PER_PAGE - 1) // PER_PAGE
    for p in range(pages):
        ids = range(p * PER_PAGE, min(articles, (p + 1) * PER_PAGE))
        links = "".join(f'<li><a href="/a/{i}.html?spm=list">第{i}条</a></li>' for i in ids)
        nxt = f'<a class="next" href="/list/{p + 1}.html">下一页</a>' if p + 1 < pages else ""
        site.routes[f"/list/{p}.html"] = Page(f'<html><body><ul class="news">{links}</ul>{nxt}</body></html>')
    para = "泽州县应急管理局组织开展安全生产大检查，检查组深入企业一线，查找隐患并督促整改落实。"
    for i in range(articles):
        site.routes[f"/a/{i}.html"] = Page(
            f"<html><head><meta charset='utf-8'><title>新闻{i}</title></head><body><div class='nav'>首页</div>"
            f"<h1>第{i}条新闻：巴公镇部署冬季安全工作</h1><div class='time'>2026-11-20 {i % 24:02d}:{i % 60:02d}</div>"
            f"<div class='author'>记者{i % 7}</div><div class='content'>" + f"<p>{para}</p>" * 6
            + "</div><div class='footer'>版权所有</div></body></html>")
    # Headers and body go out as two writes: with Nagle's algorithm the second waits for the
    # client's delayed ACK (40 ms), which then paces both crawls alike, not their per-page cost.
    site.server.RequestHandlerClass.disable_nagle_algorithm = True
    return site.start()


def run_bare(url: str, max_pages: int, out: str) -> None:
    """The baseline: fetch list and article pages, extract the same fields, nothing else."""
    import crawl_settings_no_throttle as bench_settings  # beside this file: the settings ours runs with
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):  # type: ignore[no-untyped-def]
            yield scrapy.Request(url, dont_filter=True)

        def parse(self, response, page: int = 1):  # type: ignore[no-untyped-def]
            for href in response.css(SELECTORS["links"]).getall():
                yield response.follow(href, self.parse_article)
            nxt = response.css(SELECTORS["next"]).get()
            if nxt and page < max_pages:
                yield response.follow(nxt, self.parse, cb_kwargs={"page": page + 1})

        def parse_article(self, response):  # type: ignore[no-untyped-def]
            yield {"url": response.url, "title": response.css(SELECTORS["title"]).get(),
                   "time": response.css(SELECTORS["time"]).get(),
                   "author": response.css(SELECTORS["author"]).get(),
                   "body": "\n".join(response.css(SELECTORS["body"]).getall())}

    same = {k: getattr(bench_settings, k) for k in (
        "ROBOTSTXT_OBEY", "USER_AGENT", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
        "CONCURRENT_REQUESTS_PER_IP", "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED", "DOWNLOAD_TIMEOUT",
        "RETRY_TIMES", "TELNETCONSOLE_ENABLED", "CONCURRENT_ITEMS")}
    process = CrawlerProcess({**same, "LOG_LEVEL": "WARNING"})
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(out).write_text(json.dumps({"pages": stats.get("downloader/response_count", 0),
                                     "items": stats.get("item_scraped_count", 0),
                                     "seconds": stats["elapsed_time_seconds"]}))


def run_ours(site_url: str, max_pages: int, tmp: Path, profile: str = "") -> dict:
    from yuqing.crawlers.jobs import child_env
    from yuqing.crawlers.sources import upsert_sources
    from yuqing.profile import load_profile
    from yuqing.runtime import Runtime, set_runtime
    from yuqing.settings import load_settings
    from yuqing.store import migrate
    from yuqing.tasks.connection import redis_binary

    port = 6390 + os.getpid() % 500
    redis = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                Redis.from_url(url).ping()
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        settings = load_settings(environ={}, data_dir=tmp / "data", redis_url=url, log_level="WARNING")
        migrate(settings.sqlalchemy_url)
        rt = Runtime(settings=settings, profile=load_profile(settings.profile))
        set_runtime(rt)
        upsert_sources(rt, [{"key": "bench", "name": "基准", "kind": "listing", "tier": "local",
                             "urls": [f"{site_url}/list/0.html"],
                             "listing": {**SELECTORS, "max_pages": max_pages}}])
        report = tmp / "ours.json"
        env = child_env(settings)
        env["SCRAPY_SETTINGS_MODULE"] = "crawl_settings_no_throttle"  # the bare one's network settings
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")])
        prof = ["-m", "cProfile", "-o", str(Path(profile).resolve())] if profile else []
        subprocess.run([sys.executable, *prof, "-m", "yuqing.crawlers.run", "1", "--report", str(report)],
                       env=env, check=True)
        stats = json.loads(report.read_text())["stats"]
        return {"pages": stats.get("downloader/response_count", 0), "items": stats.get("yuqing/items_new", 0),
                "seconds": stats["elapsed_time_seconds"]}
    finally:
        redis.terminate()
        redis.wait()


def crawl_round(site_url: str, max_pages: int, first: str, profile: str = "") -> dict[str, dict]:
    """One crawl of each, ``first`` first, each on its own fresh store."""
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in (first, "ours" if first == "bare" else "bare"):
            if name == "bare":
                path = Path(tmp) / "bare.json"
                subprocess.run([sys.executable, __file__, "--bare", f"{site_url}/list/0.html", str(max_pages),
                                str(path)], check=True)
                out["bare"] = json.loads(path.read_text())
            else:
                out["ours"] = run_ours(site_url, max_pages, Path(tmp), profile)
    for r in out.values():
        r["rate"] = r["pages"] / r["seconds"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of one crawl each, the order alternating; the figure is the median round")
    parser.add_argument("--profile", default="", help="cProfile our crawl process into this file")
    parser.add_argument("--bare", nargs=3, metavar=("URL", "MAX_PAGES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(args.bare[0], int(args.bare[1]), args.bare[2])
        return
    site = build_site(args.articles)
    max_pages = (args.articles + PER_PAGE - 1) // PER_PAGE
    ratios = []
    try:
        for n in range(1 if args.profile else args.rounds):
            # The machine's load changes from one minute to the next: each round's two crawls run
            # back to back, and the order alternates so that neither always gets the quieter turn.
            r = crawl_round(site.url, max_pages, "bare" if n % 2 == 0 else "ours", args.profile)
            for name, label in (("bare", "bare Scrapy spider"), ("ours", "yuqing listing spider")):
                x = r[name]
                print(f"round {n + 1}  {label:22} {x['pages']:5d} pages, {x['items']:5d} items, {x['seconds']:6.2f} s, "
                      f"{x['rate']:7.1f} pages/s")
                assert x["items"] == args.articles, (name, x)
            ratios.append(r["ours"]["rate"] / r["bare"]["rate"])
            print(f"round {n + 1}  ours / bare: {ratios[-1]:.2f}", flush=True)
    finally:
        site.stop()
    ratio = statistics.median(ratios)
    print(f"crawl_ratio (ours / bare pages per second, median of {len(ratios)} rounds): {ratio:.2f}  "
          f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target ≥ 0.80)")
    if args.profile:
        return  # a profiled rate is not the figure
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figures import figure

    figure("crawl", f"listing spider vs bare Scrapy, pages/s ({args.articles:,} article pages)", f"{ratio:.2f}", ">= 0.80")


if __name__ == "__main__":
    main()

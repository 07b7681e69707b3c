"""Coverage-guided fuzzing (atheris, libFuzzer) of the crawler's text, time and URL
normalisation, the feed callback and the `yuqing score` line check, as a child process with a
fixed run budget. Hypothesis (the other test_fuzz_* files) draws from shapes we thought of;
libFuzzer mutates bytes towards code paths nobody thought of.

Run by hand for longer: ``python tests/test_fuzz_atheris.py -max_total_time=600``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


SEEDS = [b"\x003\xe5\x88\x86\xe9\x92\x9f\xe5\x89\x8d", "\x00昨天 12:30".encode(), "\x002026年11月21日 08:00".encode(),
         b"\x00Thu, 17 Sep 2020 06:05:00 GMT", b"\x002020-09-17T14:05:00+08:00", "\x001.2万".encode(),
         b"\x01<div><p>a&amp;b</p><script>x</script><!-- c --><br/>&#x1;</div>",
         b"\x02HTTP://News.Example.CN:80/a.html?utm_source=wx&id=3&q=%D6%D0#!/p", b"\x02http://[::1]:99/x",
         b'\x02{"id": 1, "text": "a", "engagement": {"likes": 3}}',
         b"\x03<?xml version='1.0'?><rss><channel><item><title>t</title><link>/a</link>"
         b"<pubDate>Thu, 17 Sep 2020 06:05:00 GMT</pubDate><description>&lt;p&gt;x</description></item></channel></rss>",
         b"\x03<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>t</title><link href='/a'/>"
         b"<updated>2020-09-17T14:05:00+08:00</updated></entry></feed>"]


@pytest.mark.slow  # coverage-guided fuzzing in a child process
def test_libfuzzer_finds_no_crash(tmp_path: Path) -> None:
    assert importlib.util.find_spec("atheris"), "atheris is in the test extra: pip install -e .[test]"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    done = subprocess.run([sys.executable, __file__, str(corpus), "-runs=100000", "-max_total_time=6",
                           "-seed=1", "-max_len=4096", f"-artifact_prefix={tmp_path}/"],
                          capture_output=True, text=True, timeout=180)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert "Done" in tail and "crash-" not in tail, tail


def _harness() -> None:  # pragma: no cover - runs in the child
    import logging
    import re

    import atheris

    with atheris.instrument_imports(include=["yuqing.crawlers", "yuqing.analysis.stream", "feedparser"]):
        from scrapy.http import XmlResponse
        from scrapy.utils.test import get_crawler

        from yuqing.analysis import stream
        from yuqing.crawlers import normalise as n
        from yuqing.crawlers.spiders.feed import FeedSpider

    logging.disable(logging.CRITICAL)  # the spider logs every unreadable feed it is fed
    crawler = get_crawler(FeedSpider, {"YUQING_STORE": False})
    spider = crawler._create_spider(source={"id": 1, "key": "atheris", "urls": ["http://s.test/f"], "settings": {}},
                                    clock=lambda: NOW)
    unsafe = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

    def one_input(data: bytes) -> None:
        if not data:
            return
        kind, body = data[0] % 4, data[1:]
        if kind == 3:  # a feed body, through the callback
            for item in spider.parse(XmlResponse("http://s.test/f", body=body)):
                n.clean_text(item.get("text"))
            return
        text = body.decode("utf-8", "surrogateescape")  # bad bytes become lone surrogates
        if kind == 0:
            got = n.parse_time(text, NOW)
            assert got is None or (got.tzinfo is UTC and got <= NOW + n.FUTURE_TOLERANCE), got
            count = n.parse_count(text)
            assert count is None or 0 <= count <= n.MAX_COUNT
        elif kind == 1:
            for out in (n.clean_text(text), n.clean_line(text)):
                assert not unsafe.search(out), repr(out)
        else:
            try:
                url = n.canonical_url(text)
            except ValueError as exc:
                assert str(exc).startswith("无法解析的网址"), exc
            else:
                assert n.canonical_url(url) == url and not re.search(r"[\x00-\x20\x7f-\x9f]", url), url
            for raw in (text, body):
                record, error, field, _ = stream._check(1, raw)
                assert (record is None) == bool(error) and (not field or field in error)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    _harness()

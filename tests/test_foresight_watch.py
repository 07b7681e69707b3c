"""临时关注 after release: from the planned date the draft's words are a watch with an end date,
items about the policy are scored with it by the real analysis job, and when the watch ends the
评估 compares what happened with the forecast."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from foresight_seed import seed
from test_foresight_assess import DEMOLITION, _cli

from yuqing.analysis.jobs import analyse_items, reset
from yuqing.foresight.draft import parse_text
from yuqing.foresight.service import assess_and_record
from yuqing.foresight.watch import review_due
from yuqing.models import Assessment, AuditEntry, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
ABOUT = ("城东片区棚户区改造征收补偿方案公示了", "看了城东片区房屋征收补偿标准，每平方米3800元，补偿标准太低，不公平，大家都不满意。")
UNRELATED = ("县城今日天气晴好", "今天县城天气晴好，不少市民到公园散步。")


def _item(rt, title: str, text: str, n: int) -> int:  # type: ignore[no-untyped-def]
    url = f"https://weibo.example/{n}"
    with rt.session() as s:
        item = Item(url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), title=title, text=text,
                    tier="social", fetched_at=rt.now(), published_at=rt.now(),
                    content_hash=hashlib.sha256(text.encode()).hexdigest())
        s.add(item)
        s.flush()
        return item.id


def test_the_watch_scores_items_about_the_policy_and_the_review_checks_the_forecast(runtime) -> None:  # type: ignore[no-untyped-def]
    reset()
    seed(runtime)
    done = assess_and_record(runtime, parse_text(DEMOLITION), "张三")
    with runtime.session() as s:
        a = s.get(Assessment, done.assessment_id)
        assert a.watch_starts_at == datetime(2026, 12, 15, tzinfo=SHANGHAI)
        assert a.watch_ends_at == datetime(2026, 12, 29, tzinfo=SHANGHAI)  # 14 days by default
        assert {"棚户区", "征收", "补偿"} <= set(a.watch_words)

    runtime.clock.set(datetime(2026, 12, 10, 9, tzinfo=SHANGHAI))  # before the planned date
    early = _item(runtime, *ABOUT, 1)
    runtime.clock.set(datetime(2026, 12, 16, 9, tzinfo=SHANGHAI))
    about, other = _item(runtime, *ABOUT, 2), _item(runtime, *UNRELATED, 3)
    analyse_items([about, other])
    runtime.clock.set(datetime(2026, 12, 10, 9, tzinfo=SHANGHAI))
    analyse_items([early])
    with runtime.session() as s:
        scored = s.get(Item, about)
        assert scored.flags["foresight"] == [done.assessment_id]
        assert {"征收", "补偿"} <= set(scored.watch_words)
        assert any(r.startswith("临时关注（《关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）》出台后，至 2026-12-29 00:00）")
                   for r in scored.reasons)
        assert "foresight" not in s.get(Item, other).flags
        assert "foresight" not in s.get(Item, early).flags

    runtime.clock.set(datetime(2026, 12, 28, 9, tzinfo=SHANGHAI))
    assert review_due() == 0  # the watch has a day to go
    runtime.clock.set(datetime(2026, 12, 29, 0, 5, tzinfo=SHANGHAI))
    assert review_due() == 1
    with runtime.session() as s:
        a = s.get(Assessment, done.assessment_id)
        r = a.review
        assert a.state == "reviewed"
        assert r["items"] == 1 and r["item_ids"] == [about]
        assert "补偿标准是否公平" in r["concerns_appeared"]
        assert r["forecast_level"] == "较大"
        assert r["summary"].startswith("关注期内监测到相关帖文 1 条，涉及舆情事件 1 起，最高达到")
        assert "事前研判风险等级为高，预计可能达到较大级" in r["summary"]
        assert "未形成回应工单" in r["summary"]
        assert s.query(AuditEntry).filter_by(action="foresee.review", target_id=a.id).count() == 1
    assert review_due() == 0  # reviewed once
    # No more watching after the review: a new item is no longer flagged.
    runtime.clock.set(datetime(2026, 12, 20, tzinfo=SHANGHAI))
    late = _item(runtime, *ABOUT, 4)
    analyse_items([late])
    with runtime.session() as s:
        assert "foresight" not in s.get(Item, late).flags


@pytest.mark.slow  # whole CLI runs: a minute or more on the 2-core machine
def test_review_before_the_watch_ends_is_refused_plainly(runtime, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "draft.txt"
    path.write_text(DEMOLITION, encoding="utf-8")
    assert _cli(monkeypatch, "foresee", "--file", str(path), rt=runtime).returncode == 0
    out = _cli(monkeypatch, "foresee", "review", "1", rt=runtime)
    assert out.returncode == 2
    assert out.stderr.startswith("错误: 风险评估 #1 的关注期至 2026-12-29 00:00 结束，尚未到复盘时间")
    out = _cli(monkeypatch, "foresee", "review", "1", "--now", rt=runtime)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("关注期内未监测到与该政策相关的帖文；事前研判风险等级为")
    assert runtime.now() < datetime(2026, 12, 29, tzinfo=SHANGHAI) - timedelta(days=1)

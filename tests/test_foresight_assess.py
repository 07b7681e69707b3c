"""事前研判: a draft finds the past events like it, is scored with cited reasons, and its likely
concerns come from those events' posts; bad drafts get one clear Chinese line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_inproc import Ran, run_yuqing
from foresight_seed import seed

from yuqing.foresight.assess import assess
from yuqing.foresight.draft import MAX_DRAFT_CHARS, load_draft, parse_text
from yuqing.foresight.exceptions import DraftError
from yuqing.models import Item

REPO = Path(__file__).resolve().parent.parent

DEMOLITION = """---
title: 关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）
affected: 城东片区约1200户居民；片区内临街商户
date: 2026-12-15
channel: 政府网站
---
为推进城东片区棚户区改造，改善群众居住条件，县政府拟对片区内房屋实施征收拆迁。
被征收房屋的补偿标准按照评估机构评估的市场价格确定，住宅每平方米补偿不低于3800元。
被征收人可选择货币补偿或产权调换，选择产权调换的，安置房于2028年底前交付。
征收范围、补偿方案自公告之日起公示30日，征求被征收人意见。
"""

SCHOOL = """---
title: 关于调整县城义务教育阶段学校课后服务收费标准的通知
affected: 县城12所中小学学生及家长
date: 2027年3月1日
---
自2027年春季学期起，县城义务教育阶段学校课后服务收费标准调整为每生每学期300元。
家庭经济困难学生减免课后服务费用，学校不得以任何名义另行收费。
"""


@pytest.fixture
def seeded(runtime):  # type: ignore[no-untyped-def]
    return seed(runtime)


def test_a_draft_about_compensation_finds_the_demolition_event(runtime, seeded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text(DEMOLITION)
    with runtime.session() as s:
        f = assess(s, draft, runtime.profile)
    assert f.history.events, f.history_note
    assert f.history.events[0].id == seeded["demolition"]
    assert f.history.events[0].level == "较大"
    assert "fire" not in [k for k, v in seeded.items() if v == f.history.events[0].id]
    texts = [r.text for r in f.reasons]
    assert "草案涉及征收补偿与安置（「补偿」）" in texts
    compensation = next(r for r in f.reasons if "征收补偿" in r.text)
    assert compensation.cites == ["草案标题"]  # 补偿 is in the title
    assert any(r.text == "受影响群体规模：「1200户」" for r in f.reasons)
    assert any(f"事件#{seeded['demolition']}" in r.cites for r in f.reasons)
    assert f.grade in ("较高", "高")
    assert f.expected_level in ("较大", "重大")
    assert not f.history_note


def test_concerns_come_from_the_similar_events_posts(runtime, seeded) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text(DEMOLITION)
    with runtime.session() as s:
        f = assess(s, draft, runtime.profile)
        similar = {e.id for e in f.history.events}
        questions = [c.question for c in f.concerns]
        assert "补偿标准是否公平" in questions
        for concern in f.concerns:
            assert concern.evidence
            for ev in concern.evidence:
                item = s.get(Item, ev.item_id)
                assert item.event_id in similar  # from the past events the assessment leans on
                assert ev.quote in f"{item.title}\n{item.text}"
                assert ev.cue in ev.quote
    fairness = next(c for c in f.concerns if c.question == "补偿标准是否公平")
    assert fairness.answer is not None
    assert fairness.answer.quote in draft.paragraphs[fairness.answer.paragraph - 1]
    assert "补偿标准" in fairness.answer.quote


def test_a_school_fee_draft_leans_on_the_school_event(runtime, seeded) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text(SCHOOL)
    with runtime.session() as s:
        f = assess(s, draft, runtime.profile)
    assert f.history.events[0].id == seeded["school_fees"]
    assert {"收费与价格", "学校与医院"} <= {r.text.split("草案涉及")[1].split("（")[0]
                                          for r in f.reasons if r.text.startswith("草案涉及")}
    assert any(c.question == "收费是否合理、用途是否公开" for c in f.concerns)


def test_no_history_says_so_plainly(runtime) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text(DEMOLITION)
    with runtime.session() as s:
        f = assess(s, draft, runtime.profile)
    assert f.history_note == "库中尚无历史帖文，无法依据历史预判舆情态势；以下风险仅依据草案本身的用语估计。"
    assert f.concerns == [] and f.expected_level == "" and not f.history.events
    assert all(not c.startswith("事件#") for r in f.reasons for c in r.cites)


def test_unrelated_history_is_not_leaned_on(runtime, seeded) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text("关于举办县第五届农民丰收节书画摄影展的通知\n展览于县文化馆举办，展出农民书画和摄影作品一百余幅。")
    with runtime.session() as s:
        f = assess(s, draft, runtime.profile)
    assert not f.history.events
    assert f.history_note.startswith("已比对库中 ")
    assert "没有与草案相近的舆情事件" in f.history_note


@pytest.mark.parametrize(("content", "message"), [
    ("", "草案为空：没有标题也没有正文"),
    ("---\ntitle: 关于收费的通知\n---\n", "草案正文为空：请至少写明政策措施的主要内容或摘要"),
    ("Notice on parking fees\nFrom January the city will charge parking fees in the old town.",
     "草案不是中文（汉字只占文字的 0%）；请提交中文草案或其中文译本"),
    ("---\ntitle: 通知\nwhen: 2026-12-01\n---\n正文", "未知字段「when」"),
    ("---\ntitle: 通知\ndate: 明年\n---\n正文", "字段 date（出台日期）应为 2026-12-15 或 2026年12月15日，而不是「明年」"),
    ("---\ntitle: 通知\nwatch_days: 0\n---\n正文", "字段 watch_days（关注天数）应为 1 到 90 的整数，而不是「0」"),
])
def test_bad_drafts_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "draft.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DraftError) as err:
        load_draft(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


@pytest.mark.slow
def test_a_huge_draft_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "draft.txt"
    path.write_text("关于收费的通知\n" + "收费标准调整。" * (MAX_DRAFT_CHARS // 7 + 10), encoding="utf-8")
    with pytest.raises(DraftError, match=r"草案过长（\d+ 字），上限 30000 字；请提交摘要或分章节评估"):
        load_draft(path)


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str, rt=None) -> Ran:  # type: ignore[no-untyped-def]
    env = {}
    if rt is not None:
        env = {"YUQING_DATA_DIR": str(rt.settings.data_dir), "YUQING_DATABASE_URL": rt.settings.sqlalchemy_url,
               "YUQING_REDIS_URL": rt.settings.redis_url}
    return run_yuqing(monkeypatch, *args, env=env)


def test_cli_assesses_a_draft_file(runtime, seeded, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "draft.txt"
    path.write_text(DEMOLITION, encoding="utf-8")
    out = _cli(monkeypatch, "foresee", "--file", str(path), rt=runtime)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("舆情风险评估：《关于城东片区棚户区改造房屋征收补偿安置方案（征求意见稿）》")
    assert f"事件#{seeded['demolition']}「拆迁征收补偿问题」较大级" in out.stdout
    assert "补偿标准是否公平" in out.stdout


def test_cli_bad_draft_is_one_line_without_traceback(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "draft.txt"
    path.write_text("   \n\n", encoding="utf-8")
    out = _cli(monkeypatch, "foresee", "--file", str(path))
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == f"错误: {path}: 草案为空：没有标题也没有正文"
    assert out.stderr.splitlines()[1].startswith("提示: 草案格式见 README")
    assert "Traceback" not in out.stderr

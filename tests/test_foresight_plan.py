"""解读回应预案: the DOCX is parsed back and every sentence that states a fact must carry a citation
that resolves (to the draft's own words, or to an event or item in the store); drafts are stored
as revisions with what changed, the final plan is marked, and all of it is in the audit log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm
from foresight_seed import seed
from sqlalchemy import select
from test_foresight_assess import DEMOLITION, _cli

from yuqing.documents.keep import unjoined
from yuqing.documents.wording import machine_text
from yuqing.foresight.draft import Draft, parse_text
from yuqing.foresight.plan import cn_date
from yuqing.foresight.records import finalise
from yuqing.foresight.service import assess_and_record
from yuqing.models import Assessment, AuditEntry, Event, Item

HEADING = re.compile(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")


def split_outside_quotes(text: str, stop: str = "。") -> list[str]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "「") - (ch == "」")
        if ch == stop and depth == 0:
            out.append(text[start:i + 1])
            start = i + 1
    if text[start:].strip():
        out.append(text[start:])
    return out


def quotes(sentence: str) -> list[str]:
    """Outermost 「…」 quotes (a quoted sentence may hold quotes of its own)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        if ch == "「":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "」" and depth:
            depth -= 1
            if depth == 0:
                out.append(sentence[start:i])
    return out


def body_sentences(path: Path) -> list[str]:
    paragraphs = [unjoined(p.text) for p in Document(str(path)).paragraphs]
    start, end = paragraphs.index("一、政策要点"), paragraphs.index("附件：引用来源")
    body = [p for p in paragraphs[start:end] if p.strip() and not HEADING.match(p)]
    return [s for p in body for s in split_outside_quotes(p)]


def resolve(s, draft: Draft, cite: str) -> str:  # type: ignore[no-untyped-def]
    """The text a citation names, or fail."""
    if cite == "草案标题":
        return draft.title
    if m := re.fullmatch(r"草案第(\d+)段", cite):
        number = int(m[1])
        assert 1 <= number <= len(draft.paragraphs), cite
        return draft.paragraphs[number - 1]
    if cite == "草案受影响群体":
        return "；".join(draft.affected)
    if cite == "草案出台日期":
        return cn_date(draft.planned)  # type: ignore[arg-type]
    if cite == "草案发布渠道":
        return draft.channel
    if m := re.fullmatch(r"事件#(\d+)", cite):
        event = s.get(Event, int(m[1]))
        assert event is not None, cite
        return event.title
    if m := re.fullmatch(r"条目#(\d+)", cite):
        item = s.get(Item, int(m[1]))
        assert item is not None, cite
        return f"{item.title}\n{item.text}"
    raise AssertionError(f"unknown citation {cite}")


def check_citations(rt, path: Path, draft: Draft) -> int:  # type: ignore[no-untyped-def]
    """Every sentence cites (or is a 研判/建议) and every quote is in what it cites; the count checked."""
    checked = 0
    with rt.session() as s:
        for sentence in body_sentences(path):
            cites = re.findall(r"〔([^〕]+)〕", sentence)
            if not cites:
                assert sentence.startswith(("研判", "建议")), f"uncited fact: {sentence}"
                continue
            sources = [resolve(s, draft, c) for c in cites]
            for quote in quotes(sentence):
                assert any(quote in src for src in sources), f"{quote!r} not in {cites}"
            if m := re.search(r"共 (\d+) 条帖文", sentence):
                assert len(cites) == 1 and int(m[1]) == s.get(Event, int(cites[0][3:])).item_count
            if "出台" in sentence and cites == ["草案出台日期"]:
                assert cn_date(draft.planned) in sentence  # type: ignore[arg-type]
            checked += 1
    return checked


def test_every_fact_in_the_plan_cites_the_draft_or_an_item(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(runtime)
    draft = parse_text(DEMOLITION)
    done = assess_and_record(runtime, draft, "张三")
    path = Path(done.plan_path)
    assert path.exists() and path.parent == Path(runtime.settings.data_dir) / "foresight"
    assert check_citations(runtime, path, draft) >= 10
    text = unjoined("\n".join(p.text for p in Document(str(path)).paragraphs))
    assert f"〔事件#{seeded['demolition']}〕" in text
    assert "（一）补偿标准是否公平" in text
    assert "回应口径：草案明确，「被征收房屋的补偿标准按照评估机构评估的市场价格确定，住宅每平方米补偿不低于3800元」〔草案第2段〕。" in text
    for heading in ("一、政策要点", "二、舆情风险研判", "三、预计关切及回应口径", "四、回应主体", "五、发布渠道及顺序",
                    "六、事前通报", "七、升级处置条件"):
        assert heading in text
    assert "中共泽州县委宣传部、泽州县委网信办" in text
    assert "政务新媒体" in text and "新闻发布会" in text
    for machine in ("fairness", "None", "grade", "compensation", "demolition"):
        assert machine not in text
    cited = [q for sentence in body_sentences(path) for q in quotes(sentence)]
    sources = [piece for p in Document(str(path)).paragraphs if p.text.startswith("〔") for piece in p.text.split("　")]
    assert machine_text(text, quoted=cited + sources) == []


def test_plan_layout_follows_gb_t_9704(runtime) -> None:  # type: ignore[no-untyped-def]
    done = assess_and_record(runtime, parse_text(DEMOLITION), "张三")
    doc = Document(done.plan_path)
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    assert (round(sec.top_margin.mm), round(sec.left_margin.mm)) == (37, 28)
    assert round((sec.page_width - sec.left_margin - sec.right_margin) / Mm(1)) == 156
    assert round((sec.page_height - sec.top_margin - sec.bottom_margin) / Mm(1)) == 225
    title = next(p for p in doc.paragraphs if p.text.startswith("关于《")).runs[0]
    assert title.font.size.pt == 22 and title.font.name == "方正小标宋简体"
    assert "泽州县应急管理局舆情风险评估" in [p.text for p in doc.paragraphs[:4]]  # the red 发文机关标志
    body = next(p for p in doc.paragraphs if p.text.startswith("关于征收补偿与安置"))
    assert body.runs[0].font.size.pt == 16 and body.runs[0].font.name == "仿宋_GB2312"
    assert next(p for p in doc.paragraphs if p.text == "一、政策要点").runs[0].font.name == "黑体"
    footer = sec.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "— " in sec.footer.paragraphs[0].text


def test_a_plan_without_history_cites_only_the_draft(runtime) -> None:  # type: ignore[no-untyped-def]
    draft = parse_text(DEMOLITION)
    done = assess_and_record(runtime, draft, "张三")
    check_citations(runtime, Path(done.plan_path), draft)
    text = unjoined("\n".join(p.text for p in Document(done.plan_path).paragraphs))
    assert "研判：库中尚无历史帖文，无法依据历史预判舆情态势" in text
    assert "事件#" not in text and "条目#" not in text
    assert "研判：库中没有可参照的历史帖文，不列预计关切" in text


def test_drafts_are_revisions_with_changes_and_the_final_plan_is_audited(runtime) -> None:  # type: ignore[no-untyped-def]
    first = assess_and_record(runtime, parse_text(DEMOLITION), "张三")
    second_text = DEMOLITION.replace("住宅每平方米补偿不低于3800元", "住宅每平方米补偿不低于4200元").replace(
        "date: 2026-12-15", "date: 2026-12-20")
    second = assess_and_record(runtime, parse_text(second_text), "李四", first.assessment_id)
    assert second.assessment_id == first.assessment_id and second.number == 2
    assert "出台日期由「2026-12-15」改为「2026-12-20」" in second.changes
    assert any(c.startswith("正文第2段改为「被征收房屋的补偿标准") and "4200元" in c for c in second.changes)
    with runtime.session() as s:
        a = finalise(s, first.assessment_id, "王局长", runtime.now())
        assert a.final_revision == 2
    with runtime.session() as s:
        a = s.get(Assessment, first.assessment_id)
        assert [(r.number, r.by) for r in a.revisions] == [(1, "张三"), (2, "李四")]
        assert a.state == "final" and a.finalised_by == "王局长"
        log = s.scalars(select(AuditEntry).where(AuditEntry.target_type == "assessment").order_by(AuditEntry.id)).all()
        assert [(e.action, e.actor) for e in log] == [("foresee.assess", "张三"), ("foresee.assess", "李四"),
                                                      ("foresee.finalise", "王局长")]
    from yuqing.exceptions import YuqingError

    with pytest.raises(YuqingError, match=r"评估 #\d+ 已已定稿|已定稿，不能再提交新稿"):
        assess_and_record(runtime, parse_text(DEMOLITION), "张三", first.assessment_id)


@pytest.mark.slow  # whole CLI runs: a minute or more on the 2-core machine
def test_cli_saves_shows_and_finalises(runtime, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "draft.txt"
    path.write_text(DEMOLITION, encoding="utf-8")
    out = _cli(monkeypatch, "foresee", "--file", str(path), "--by", "张三", rt=runtime)
    assert out.returncode == 0, out.stderr
    assert "已保存：风险评估 #1 第 1 稿（张三）；解读回应预案：" in out.stdout
    out = _cli(monkeypatch, "foresee", "final", "1", "--by", "王局长", rt=runtime)
    assert out.stdout.strip() == "风险评估 #1 已定稿：第 1 稿", out.stderr
    out = _cli(monkeypatch, "foresee", "show", "1", rt=runtime)
    assert "第 1 稿（定稿）" in out.stdout and "由 王局长 确定" in out.stdout
    out = _cli(monkeypatch, "foresee", "show", "9", rt=runtime)
    assert out.returncode == 2 and out.stderr.startswith("错误: 没有编号为 9 的风险评估")
    assert "Traceback" not in out.stderr

"""The assessment as plain text for the terminal (`yuqing foresee`): one renderer of the record."""

from __future__ import annotations

from .assess import Foresight


def cite(marks: list[str]) -> str:
    return "".join(f"〔{m}〕" for m in marks if m)


def render_text(f: Foresight) -> str:
    d = f.draft
    out = [f"舆情风险评估：《{d.title}》"]
    when = f"计划 {d.planned.year}年{d.planned.month}月{d.planned.day}日" if d.planned else "未填出台日期"
    out.append(f"{when}；发布渠道：{d.channel or '未填'}；受影响群体：{'、'.join(d.affected) or '未填'}")
    expected = f"；参照历史，舆情可能达到{f.expected_level}级" if f.expected_level else ""
    out.append(f"风险等级：{f.grade}（{f.risk:.2f}）{expected}")
    if f.history_note:
        out.append(f.history_note)
    out.append("研判理由：")
    out += [f"  {n}. {r.text}{cite(r.cites)}" for n, r in enumerate(f.reasons, 1)] or ["  （草案未见涉及群众切身利益的用语）"]
    if f.topic_names:
        out.append(f"所涉职责：{'、'.join(f.topic_names)}")
    if f.history.events:
        out.append("相似历史事件：")
        for n, e in enumerate(f.history.events, 1):
            out.append(f"  {n}. 事件#{e.id}「{e.title}」{e.level}级，{e.item_count} 条帖文，{e.source_count} 个信源，"
                       f"负面 {round(100 * e.negative_share)}%，相似度 {e.similarity:.2f}；共同词：{'、'.join(e.shared_words)}")
            for it in e.items:
                out.append(f"     条目#{it.id}「{it.title[:40]}」{it.url}")
    if f.concerns:
        out.append("预计关切（来自相似历史事件的帖文）：")
        for n, c in enumerate(f.concerns, 1):
            out.append(f"  {n}. {c.question}（{c.post_count} 条帖文）")
            out += [f"     条目#{e.item_id}：「{e.quote}」" for e in c.evidence]
            if c.answer:
                where = "草案标题" if c.answer.paragraph == 0 else f"草案第{c.answer.paragraph}段"
                out.append(f"     回应口径依据：「{c.answer.quote}」〔{where}〕")
            else:
                out.append("     草案未就此作出说明：建议出台前由主管科室补充口径")
    out.append("回应主体：" + "；".join(f"{s['name']}（{s['head']}，{s['why']}）" for s in f.sections))
    out.append(f"临时关注词：{'、'.join(f.watch_words) or '无'}；地名：{'、'.join(p['name'] for p in f.places) or '无'}")
    return "\n".join(out)

"""Sentences every document tells the same way, from the event's one account (事件概况)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from .account import EventAccount, tier_label
from .dates import cn_datetime
from .model import Paragraph


def overview(a: EventAccount, tz: str | ZoneInfo) -> list[Paragraph]:
    """事件概况: who reported first, where and when, the figures and how they rose, the category."""
    # One sentence a reader follows: who first published what about where, and when we saw it
    # ("首先发布消息，巴公镇发生“…死亡人数升至12人”相关情况" made the title an event of the town).
    news = f"{'、'.join(a.places)}“{a.title}”相关消息"
    seen = cn_datetime(a.first_seen_at, tz)
    if a.first_published_at:
        line = (f"{cn_datetime(a.first_published_at, tz)}，{a.first_source}（{tier_label(a.first_tier)}）"
                f"首先发布{news}，我局于{seen}监测发现。")
    else:
        line = f"我局于{seen}监测发现{news}。"
    out = [Paragraph.of(line)]
    if a.figures:
        line = a.casualty_sentence(tz) + "。"
        steps = a.progression_sentence(tz)
        if steps:
            line += f"伤亡数字变化：{steps}。"
        out.append(Paragraph.of(line))
    kinds = f"，按国办发〔2016〕61号文件属{'、'.join(a.categories)}类政务舆情" if a.categories else ""
    out.append(Paragraph.of(f"该事件按国家突发公共事件分类属{a.national_category}{kinds}。"))
    if a.summary:
        out.append(Paragraph.of(f"网上反映的主要情况：{a.summary}"))
    return out

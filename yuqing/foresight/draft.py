"""草案 (the draft of a policy or measure) as the office enters it, and its checks.

A text file whose optional front matter (YAML between two ``---`` lines) names the fields,
followed by the text; or a ``.yaml``/``.json`` file with the same keys and ``text``:

```
---
title: 关于城区老旧小区加装电梯收费标准的通知（征求意见稿）
affected: 城区32个老旧小区约4800户居民
date: 2026-12-15
channel: 政府网站
---
第一段正文……
第二段正文……
```

Keys (English or Chinese): ``title``/标题, ``text``/正文, ``affected``/受影响群体 (text or a
list), ``date``/出台日期 (2026-12-15 or 2026年12月15日), ``channel``/发布渠道,
``watch_words``/关注词 (list; default: taken from the draft), ``watch_days``/关注天数 (default
14), ``section``/主管科室 (a section key or name of the profile). Without front matter the first
line is the title. Each non-empty line of the text is a paragraph: citations name them
(草案第 3 段).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .exceptions import DraftError

MAX_DRAFT_CHARS = 30_000  # about 20 pages: longer is a whole code, to be assessed part by part
MIN_HAN_SHARE = 0.3  # share of Han characters among letters below which a draft is not Chinese
WATCH_DAYS = 14  # 出台后临时关注并复盘的天数（默认）
MAX_WATCH_DAYS = 90

KEYS = {
    "title": "title", "标题": "title",
    "text": "text", "正文": "text", "summary": "text", "摘要": "text",
    "affected": "affected", "受影响群体": "affected", "影响群体": "affected",
    "date": "date", "出台日期": "date", "计划日期": "date",
    "channel": "channel", "发布渠道": "channel",
    "watch_words": "watch_words", "关注词": "watch_words",
    "watch_days": "watch_days", "关注天数": "watch_days",
    "section": "section", "主管科室": "section",
}
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")
_DATE = re.compile(r"^\s*(\d{4})\s*(?:-|/|年)\s*(\d{1,2})\s*(?:-|/|月)\s*(\d{1,2})\s*日?\s*$")


@dataclass
class Draft:
    """草案: what the office entered; ``paragraphs`` are the text's non-empty lines (1-based in citations)."""

    title: str
    paragraphs: list[str]
    affected: list[str] = field(default_factory=list)
    planned: date | None = None
    channel: str = ""
    watch_words: list[str] = field(default_factory=list)
    watch_days: int = WATCH_DAYS
    section: str = ""
    source: str = ""

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def full_text(self) -> str:
        """Title, text and affected groups: everything the assessment reads."""
        return "\n".join([self.title, *self.paragraphs, *self.affected])

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "text": self.text, "affected": self.affected,
                "date": self.planned.isoformat() if self.planned else "", "channel": self.channel,
                "watch_words": self.watch_words, "watch_days": self.watch_days,
                "section": self.section}


def load_draft(path: Path) -> Draft:
    """Read a draft file; every problem is a :class:`DraftError` naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DraftError(f"{path}: 草案文件不存在") from None
    except OSError as exc:
        raise DraftError(f"{path}: 无法读取草案文件（{exc.strerror}）") from None
    if len(raw) > MAX_DRAFT_CHARS * 4:  # not even decoded: a huge file is refused at once
        raise DraftError(f"{path}: 草案过长（{len(raw)} 字节），上限约 {MAX_DRAFT_CHARS} 字；请提交摘要或分章节评估")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DraftError(f"{path}: 草案不是 UTF-8 编码（第 {exc.start} 字节），请另存为 UTF-8 后再提交") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        return parse_mapping(_structured(text, path), str(path))
    return parse_text(text, str(path))


def _structured(text: str, path: Path) -> Any:
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DraftError(f"{path}: JSON 语法错误（第 {exc.lineno} 行第 {exc.colno} 列）: {exc.msg}") from None
    except yaml.YAMLError as exc:
        raise DraftError(f"{path}: YAML 语法错误{_yaml_where(exc)}") from None


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"（第 {mark.line + 1} 行第 {mark.column + 1} 列）" if mark else ""


def parse_text(text: str, source: str = "草案") -> Draft:
    """A text with optional ``---`` front matter; without it the first line is the title."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head: dict[str, Any] = {}
    stripped = text.lstrip("\ufeff \n")
    if stripped.startswith("---\n"):
        end = stripped.find("\n---", 4)
        if end < 0:
            raise DraftError(f"{source}: 头部以 --- 开始却没有结束的 --- 行")
        try:
            head = yaml.safe_load(stripped[4:end]) or {}
        except yaml.YAMLError as exc:
            raise DraftError(f"{source}: 头部 YAML 语法错误{_yaml_where(exc)}") from None
        if not isinstance(head, dict):
            raise DraftError(f"{source}: 头部应为「键: 值」的映射")
        body = stripped[end + 4:].split("\n", 1)[1] if "\n" in stripped[end + 4:] else ""
    else:
        body = stripped
    fields = dict(head)
    if not any(KEYS.get(str(k)) == "title" for k in fields):
        lines = [x for x in body.split("\n") if x.strip()]
        fields["title"] = lines[0] if lines else ""
        body = "\n".join(lines[1:])
    fields["text"] = body if not any(KEYS.get(str(k)) == "text" for k in head) else head.get("text", head.get("正文", ""))
    return parse_mapping(fields, source)


def parse_mapping(data: Any, source: str = "草案") -> Draft:
    """A mapping of the keys above (from YAML, JSON, front matter or the web form)."""
    if not isinstance(data, dict):
        raise DraftError(f"{source}: 草案应为「键: 值」的映射（title、text、affected、date、channel）")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = KEYS.get(str(key))
        if name is None:
            raise DraftError(f"{source}: 未知字段「{key}」，可用字段: title、text、affected、date、channel、"
                             "watch_words、watch_days、section")
        values[name] = value
    title = _one_line(values.get("title"), "title（标题）", source)
    text = _text(values.get("text"), source)
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    if not title and not paragraphs:
        raise DraftError(f"{source}: 草案为空：没有标题也没有正文")
    if not paragraphs:
        raise DraftError(f"{source}: 草案正文为空：请至少写明政策措施的主要内容或摘要")
    if not title:
        raise DraftError(f"{source}: 缺少标题（title）")
    draft = Draft(title=title, paragraphs=paragraphs, affected=_list(values.get("affected"), "affected（受影响群体）", source),
                  planned=_date(values.get("date"), source), channel=_one_line(values.get("channel"), "channel（发布渠道）", source),
                  watch_words=_list(values.get("watch_words"), "watch_words（关注词）", source),
                  watch_days=_days(values.get("watch_days"), source),
                  section=_one_line(values.get("section"), "section（主管科室）", source), source=source)
    _check_size_and_language(draft, source)
    return draft


def _one_line(value: Any, name: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise DraftError(f"{source}: 字段 {name} 应为一行文字")
    return " ".join(str(value).split())


def _text(value: Any, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DraftError(f"{source}: 字段 text（正文）应为文字")
    return value.replace("\r\n", "\n")


def _list(value: Any, name: str, source: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [x.strip() for x in re.split(r"[；;\n]", value) if x.strip()]
    if isinstance(value, list) and all(isinstance(x, str | int) and not isinstance(x, bool) for x in value):
        return [str(x).strip() for x in value if str(x).strip()]
    raise DraftError(f"{source}: 字段 {name} 应为文字或文字列表")


def _date(value: Any, source: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(str(value))
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise DraftError(f"{source}: 字段 date（出台日期）应为 2026-12-15 或 2026年12月15日，而不是「{value}」")


def _days(value: Any, source: str) -> int:
    if value is None or value == "":
        return WATCH_DAYS
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit() \
            or not 1 <= int(value) <= MAX_WATCH_DAYS:
        raise DraftError(f"{source}: 字段 watch_days（关注天数）应为 1 到 {MAX_WATCH_DAYS} 的整数，而不是「{value}」")
    return int(value)


def _check_size_and_language(draft: Draft, source: str) -> None:
    text = draft.full_text
    if len(text) > MAX_DRAFT_CHARS:
        raise DraftError(f"{source}: 草案过长（{len(text)} 字），上限 {MAX_DRAFT_CHARS} 字；请提交摘要或分章节评估")
    letters = _LETTER.findall(text)
    han = len(_HAN.findall(text))
    if not letters or han / len(letters) < MIN_HAN_SHARE:
        share = 0 if not letters else round(100 * han / len(letters))
        raise DraftError(f"{source}: 草案不是中文（汉字只占文字的 {share}%）；请提交中文草案或其中文译本")

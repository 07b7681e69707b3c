"""Pydantic's validation errors in Chinese: what was expected, for settings and profiles alike.

Pydantic words its messages in English ("Input should be a valid integer"); users of yuqing read
Chinese, so each error type we meet is said here once, with the limits it carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PLAIN = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段（拼写错误？）",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（不能带小数）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "too_short": "至少需要一项",
    "url_parsing": "应为网址（如 https://example.gov.cn/）",
    "datetime_parsing": "应为日期时间（如 2026-12-01T08:00:00+08:00）",
    "path_type": "应为文件路径",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "应不小于 {}"),
    "greater_than": ("gt", "应大于 {}"),
    "less_than_equal": ("le", "应不大于 {}"),
    "less_than": ("lt", "应小于 {}"),
    "string_too_short": ("min_length", "至少 {} 个字符"),
    "string_too_long": ("max_length", "至多 {} 个字符"),
    "too_long": ("max_length", "至多 {} 项"),
    "string_pattern_mismatch": ("pattern", "应符合格式 {}"),
}


def explain(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a Chinese phrase."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        return f"应为 {ctx.get('expected', '')}".replace(" or ", " 或 ")
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in _BOUNDS:
        key, phrase = _BOUNDS[kind]
        bound = ctx.get(key, "")
        return phrase.format(f"{bound:g}" if isinstance(bound, float) else bound)  # 0, not 0.0
    return str(err.get("msg", "")).removeprefix("Value error, ")


def given(err: Mapping[str, Any]) -> str:
    """The offending value as the user wrote it, for "（实际为 …）", or "" when there is none."""
    value = err.get("input")
    if err.get("type") in ("missing", "extra_forbidden") or isinstance(value, (dict, list)) or value is None:
        return ""
    return f"（实际为 {str(value)!r}）"

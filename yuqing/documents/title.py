"""The title's lines (GB/T 9704-2012 7.3.3): a title too long for one line of 2号 is broken
where a reader would break it, "回行时，要做到词意完整，排列对称，长短适宜": between words, never
inside one (煤矿透水事故死亡人数升 / 至12人), the lines about as long as each other. Both writers
set the lines this returns (the DOCX with a line break, the print page with <br>), so Word, WPS
and the PDF break the title at the same places.
"""

from __future__ import annotations

import threading
import unicodedata

import rjieba

from . import layout as L
from .keep import KEPT, NO_LINE_END, NO_LINE_START

# Characters of 2号 in a line of the 版心: 442 pt / 22 pt.
PER_LINE = int(L.BODY_W_MM * 72 / 25.4 / L.SIZE_2)
# A break after a quotation's end or before 的/相关 parts the title where its grammar does
# (关于“……” / 相关舆情的专报); it is worth this much unevenness (in squared characters).
_STRUCTURE_BONUS = 4.0
_AFTER = ("”", "」", "）")
_BEFORE = ("的", "相关")

_lock = threading.Lock()
_cutter: rjieba.Jieba | None = None


def _cut(text: str) -> list[str]:
    """jieba's words with its own dictionary (loaded once, at the first title too long for a
    line: most documents' titles fit and never pay the load). Not analysis.tokenize's cutter:
    the core is below analysis, and a title needs no bureau vocabulary to be broken between words."""
    global _cutter  # noqa: PLW0603 (one dictionary per process, as analysis.tokenize keeps its own)
    with _lock:
        if _cutter is None:
            _cutter = rjieba.Jieba()
        return list(_cutter.cut(text))


def width(text: str) -> float:
    """``text``'s width in characters of its size: a full-width character 1, any other ½."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in text)


def _units(text: str) -> list[str]:
    """The pieces a line may end between: jieba's words, a figure with its unit kept whole
    (12人), a closing mark joined to the word before and an opening one to the word after."""
    kept = [(m.start(), m.end()) for m in KEPT.finditer(text)]
    bounds = {0, len(text)}
    at = 0
    for word in _cut(text):
        at += len(word)
        bounds.add(at)
    bounds = {b for b in bounds if not any(start < b < end for start, end in kept)}
    bounds = {b for b in bounds if b in (0, len(text)) or
              (text[b] not in NO_LINE_START and text[b - 1] not in NO_LINE_END)}
    cuts = sorted(bounds)
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def title_lines(title: str, per_line: int = PER_LINE) -> list[str]:
    """The title as the lines it is set in: one where it fits, otherwise the fewest lines,
    broken between words, as even as they can be (a break at the title's own joints preferred)."""
    if width(title) <= per_line:
        return [title]
    units = _units(title)
    widths = [width(u) for u in units]
    n_units = len(units)
    for lines in range(2, n_units + 1):
        target = sum(widths) / lines
        # best[k][i]: the least cost of setting units[:i] in k lines, with where line k began.
        best: list[dict[int, tuple[float, int]]] = [{0: (0.0, 0)}] + [{} for _ in range(lines)]
        for k in range(1, lines + 1):
            for i in range(1, n_units + 1):
                for j, (cost, _) in best[k - 1].items():
                    if j >= i:
                        continue
                    w = sum(widths[j:i])
                    if w > per_line:
                        continue
                    joint = _STRUCTURE_BONUS if 0 < i < n_units and _joint(units[i - 1], units[i]) else 0.0
                    total = cost + (w - target) ** 2 - joint
                    if i not in best[k] or total < best[k][i][0]:
                        best[k][i] = (total, j)
        if n_units in best[lines]:
            out: list[str] = []
            i = n_units
            for k in range(lines, 0, -1):
                j = best[k][i][1]
                out.append("".join(units[j:i]).strip())  # a space where it breaks is the break
                i = j
            return out[::-1]
    return [title]  # a single word longer than a line: the writer wraps it as it must


def _joint(before: str, after: str) -> bool:
    return before.endswith(_AFTER) or after.startswith(_BEFORE)

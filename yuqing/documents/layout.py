"""GB/T 9704-2012 (党政机关公文格式): the page, the fonts and the sizes, in one place.

The page is A4 with 天头 37 mm and 订口 28 mm, so the 版心 of 156 × 225 mm leaves 26 mm on the
right and 35 mm at the foot; 22 lines of 28 characters of 3号 (16 pt) text fill it.
Font names are the ones Word and WPS find on a government machine (方正小标宋简体, 仿宋_GB2312,
黑体, 楷体_GB2312); where they are not installed (here) the PDF falls back to Noto CJK.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
TOP_MM, LEFT_MM = 37.0, 28.0          # 天头, 订口
BODY_W_MM, BODY_H_MM = 156.0, 225.0   # 版心
RIGHT_MM = PAGE_W_MM - LEFT_MM - BODY_W_MM   # 26
BOTTOM_MM = PAGE_H_MM - TOP_MM - BODY_H_MM   # 35
LINES, CHARS = 22, 28
LINE_PT = BODY_H_MM / LINES * 72 / 25.4      # 28.95 pt a line
CHAR_PT = BODY_W_MM / CHARS * 72 / 25.4      # 15.79 pt a character
# The DOCX's character spacing in twentieths of a point: 3号 (16 pt) characters 0.25 pt closer
# make 28 a line (28 × 15.75 pt = 441 pt inside the 版心's 442.2 pt).
CHAR_SPACING_TWIPS = -5

# 字号 in points.
SIZE_1, SIZE_2, SIZE_3, SIZE_4, SIZE_S4 = 26.0, 22.0, 16.0, 14.0, 12.0
MASTHEAD_PT = 36.0  # 发文机关标志: the standard leaves its size to the issuer; smaller than 22 mm high

XIAOBIAOSONG, FANGSONG, HEITI, KAITI, SONGTI = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体"
RED_HEX = "C00000"

# What the PDF uses where the 公文 fonts are missing (Debian's fonts-noto-cjk).
CSS_FAMILY = {
    XIAOBIAOSONG: f'"{XIAOBIAOSONG}", "Noto Serif CJK SC", serif',
    FANGSONG: f'"{FANGSONG}", "FangSong", "Noto Serif CJK SC", serif',
    HEITI: f'"{HEITI}", "SimHei", "Noto Sans CJK SC", sans-serif',
    KAITI: f'"{KAITI}", "KaiTi", "Noto Serif CJK SC", serif',
    SONGTI: f'"{SONGTI}", "SimSun", "Noto Serif CJK SC", serif',
}
HEADING_FONT = {1: HEITI, 2: KAITI, 3: FANGSONG}
# A table of at most this many rows is kept on one page: split, its header and first row stood
# alone at a page's foot (the post-event report's 项目/情况 table: "等级 重大", then the rest).
WHOLE_TABLE_ROWS = 14
CN_NUMERALS = "一二三四五六七八九十"


def masthead_size(text: str) -> float:
    """发文机关标志 size: as large as :data:`MASTHEAD_PT` while it fits one line of the 版心."""
    width_pt = BODY_W_MM * 72 / 25.4 * 0.96
    return min(MASTHEAD_PT, float(int(width_pt / max(len(text), 1))))


def heading_number(level: int, n: int) -> str:
    """一、 / （一） / 1. for the n-th heading (1-based) of a level."""
    numeral = CN_NUMERALS[n - 1] if n <= 10 else f"十{CN_NUMERALS[n - 11]}"
    return {1: f"{numeral}、", 2: f"（{numeral}）", 3: f"{n}."}.get(level, f"（{n}）")


def heading_numbers(levels: Iterable[int | None]) -> Iterator[str]:
    """The number of each heading in document order (一、 restarts （一）, which restarts 1.);
    ``None`` stands for a block that is not a heading and gets ""."""
    counters = {1: 0, 2: 0, 3: 0}
    for level in levels:
        if level is None:
            yield ""
            continue
        counters[level] += 1
        for deeper in range(level + 1, 4):
            counters[deeper] = 0
        yield heading_number(level, counters[level])


def copy_number(n: int) -> str:
    """份号: six digits (000001)."""
    return f"{n:06d}"

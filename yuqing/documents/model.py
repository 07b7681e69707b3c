"""The plain record every official document is gathered into, before any layout.

Headings are numbered by the renderer (一、 / （一） / 1.), so no document writes numerals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from yuqing.clock import local

from .layout import BODY_W_MM


def issue_number(year: int, number: int, *, spaced: bool = False) -> str:
    """The 期号 as every document, mail, file name and page writes it: ``〔2026〕第3期`` in a
    sentence and a file name; ``spaced``, ``〔2026〕第 3 期`` on the 版头's own line, where the
    number stands apart as the masthead sets it."""
    gap = " " if spaced else ""
    return f"〔{year}〕第{gap}{number}{gap}期"


@dataclass
class Link:
    """A hyperlink: its visible text (crawled text, shown as text) and its address."""

    text: str
    url: str


class Unbroken(str):
    """Text never split at a line's end (a telephone number, an e-mail address); otherwise a str."""


@dataclass
class Heading:
    """标题层次: 1 → 一、（黑体）, 2 → （一）（楷体）, 3 → 1.（仿宋加粗）."""

    text: str
    level: int = 1


@dataclass
class Paragraph:
    """A body paragraph (3号仿宋, first line indented two characters) of text and links.

    ``ragged`` sets it flush left instead of justified: a line holding a long unbreakable run
    (an e-mail address) would otherwise be spread, character by character, across the 版心."""

    parts: list[str | Link]
    bold: bool = False
    indent: bool = True
    red: bool = False
    ragged: bool = False

    @classmethod
    def of(cls, *parts: str | Link, **kw: bool) -> Paragraph:  # Unbroken is a str
        return cls(list(parts), **kw)

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


@dataclass
class Table:
    """A table across the 版心. ``widths_mm``: each column's width in millimetres, together the
    版心's 156 mm; both writers lay the columns out at exactly these widths (the DOCX as its
    w:gridCol and w:tcW, the print page as its <col>), so a date column chosen wide enough for
    12月1日14时05分 in 小四 is that wide in Word, WPS and the PDF alike."""

    header: list[str]
    rows: list[list[str]]
    widths_mm: list[float]
    caption: str = ""

    def __post_init__(self) -> None:
        name = self.caption or "/".join(self.header)
        if len(self.widths_mm) != len(self.header):
            raise ValueError(f"table {name!r}: {len(self.header)} columns but {len(self.widths_mm)} widths")
        if abs(sum(self.widths_mm) - BODY_W_MM) > 0.5:
            raise ValueError(f"table {name!r}: column widths add up to {sum(self.widths_mm):g} mm, "
                             f"not the 版心's {BODY_W_MM:g} mm")


@dataclass
class Picture:
    """A chart (PNG) across the 版心 with its caption below."""

    png: bytes
    caption: str = ""


Block = Heading | Paragraph | Table | Picture


@dataclass
class OfficialDocument:
    """One 公文: the 版头 marks, the 主体 blocks, the 版记.

    ``series`` is the 期号's series (舆情专报, 舆情日报 ...), ``number`` its place in the year.
    """

    series: str
    issuer: str
    title: str
    issued_at: datetime
    blocks: list[Block] = field(default_factory=list)
    copy_no: int | None = None        # 份号, printed as 6 digits
    secrecy: str = "内部资料　注意保存"  # 密级 or 内部资料
    urgency: str = ""                 # 紧急程度: 特急 / 加急
    number: int | None = None         # 期号: 〔2026〕第 3 期
    signer: str = ""                  # 签发人
    addressee: str = ""               # 主送机关
    cc: list[str] = field(default_factory=list)  # 抄送
    printer: str = ""                 # 印发机关
    printed_at: datetime | None = None
    timezone: str = "Asia/Shanghai"

    @property
    def masthead(self) -> str:
        """发文机关标志: the issuer's name and the series (泽州县应急管理局舆情专报)."""
        return f"{self.issuer}{self.series}"

    @property
    def year(self) -> int:
        """The 期号's year: the local year of issue, as the register counts (1 January 05:00 in
        Shanghai is still 31 December in UTC)."""
        return local(self.issued_at, self.timezone).year

    def issue_line(self, year: int) -> str:
        """The 版头's 期号 line (〔2026〕第 3 期); empty where the document has no number."""
        return issue_number(year, self.number, spaced=True) if self.number is not None else ""

    def file_name(self, year: int, ext: str) -> str:
        """泽州县应急管理局舆情专报〔2026〕第3期.docx."""
        number = issue_number(year, self.number) if self.number is not None else ""
        return f"{self.masthead}{number}.{ext}"

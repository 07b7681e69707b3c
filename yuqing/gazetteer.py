"""The gazetteer (行政区划): 国家统计局 2023 统计用区划代码, packaged as data (WTFPL).

Resolves a bureau's jurisdiction codes to the places inside it, with short forms
(泽州县 → 泽州, 巴公镇 → 巴公) for matching in text.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

LEVELS = ("province", "city", "county", "town")
# Suffixes that may be dropped when a place is named in text. Longest first.
_SUFFIXES = ("特别行政区", "自治县", "自治州", "自治区", "街道办事处", "街道", "地区", "新区",
             "省", "市", "县", "区", "镇", "乡", "旗", "盟")
# Names too common as words to be matched by their short form alone.
_UNSAFE_SHORT = {"城关", "新城", "开发", "城区", "郊区", "矿区", "高新", "新华", "人民", "中心", "东城",
                 "西城", "南城", "北城", "城东", "城西", "城南", "城北", "和平", "长安", "解放", "建设",
                 "胜利", "红旗", "光明", "前进", "东风", "团结", "工业", "中山", "朝阳", "江南", "江北"}


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str

    @property
    def short(self) -> str:
        """The name without its administrative suffix, or '' when that would be ambiguous."""
        for suffix in _SUFFIXES:
            if self.name.endswith(suffix) and len(self.name) - len(suffix) >= 2:
                stem = self.name[: -len(suffix)]
                return "" if stem in _UNSAFE_SHORT else stem
        return ""


@dataclass
class Gazetteer:
    by_code: dict[str, Division]
    children: dict[str, list[str]] = field(default_factory=dict)

    def get(self, code: str) -> Division | None:
        return self.by_code.get(code)

    def descendants(self, code: str) -> list[Division]:
        out: list[Division] = []
        stack = list(self.children.get(code, []))
        while stack:
            child = stack.pop()
            out.append(self.by_code[child])
            stack.extend(self.children.get(child, []))
        return out

    def ancestors(self, code: str) -> list[Division]:
        out = []
        div = self.by_code.get(code)
        while div and div.parent:
            div = self.by_code.get(div.parent)
            if div:
                out.append(div)
        return out

    def by_name(self, name: str) -> list[Division]:
        return [d for d in self.by_code.values() if d.name == name]


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the packaged divisions table once per process."""
    raw = resources.files("yuqing").joinpath("data/divisions.csv.gz").read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    by_code: dict[str, Division] = {}
    children: dict[str, list[str]] = {}
    rows = csv.reader(text.splitlines())  # 44,694 rows: a DictReader took twice as long
    columns = {name: i for i, name in enumerate(next(rows))}
    code, name, level, parent_at = (columns[c] for c in ("code", "name", "level", "parent"))
    for row in rows:
        if row[name] in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            # Placeholder rows of the statistics table; their children hang on the province.
            continue
        div = Division(row[code], row[name], row[level], row[parent_at])
        by_code[div.code] = div
    for div in list(by_code.values()):
        parent = div.parent
        if div.level == "county" and parent not in by_code:
            parent = parent[:2]  # counties under a placeholder city belong to the province
            by_code[div.code] = div = Division(div.code, div.name, div.level, parent)
        if parent:
            children.setdefault(parent, []).append(div.code)
    return Gazetteer(by_code, children)

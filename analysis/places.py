"""辖区地名识别 (places of the jurisdiction named in a text), from the gazetteer.

- Full names unique in the country (巴公镇) count on their own.
- The jurisdiction's own short form (泽州 for 泽州县) counts when it is unique in the country.
- Names shared with other counties (城关镇, 南村镇) and all short forms of towns (巴公, 南村)
  count only with context nearby: the profile's ``jurisdiction.context_words`` or the name of the
  jurisdiction itself or of its parent city.
- A short form is the higher division's where several share it (重庆 is the city, not 长春's
  重庆街道). A town's short form that is an ordinary word (建筑, 商店, 山河, 西北: common in jieba's
  dictionary) never counts, nor one that a common word runs across (家地 in 国家地震, 矿泉 in
  矿泉水): such false towns told one incident's reports apart (events.py).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba

from yuqing.gazetteer import LEVELS, load_gazetteer
from yuqing.profile import Profile

CONTEXT_SPAN = 60  # characters either side in which a context word must appear
# A word this frequent in jieba's dictionary is an ordinary word, not a town's short form; a
# place word (ns) must be ten times as frequent (西北, 山河 are; 南岭, 上街 are not).
COMMON_WORD_FREQ = 100
PLACE_WORD_FREQ = 1000


# Place names inside words that name no place: 北京时间 is the clock of every report of a
# quake abroad (智利 8.2 级地震，北京时间 …), not an incident in Beijing; 汉堡包 is food, 马赛克 a
# mosaic, 包罗万象 an idiom, 加勒比海盗 a film (汉堡, 马赛, 万象 are cities abroad).
_NOT_A_PLACE = re.compile("北京时间|汉堡包|马赛克|包罗万象|万象更新|北极熊|北极星|加勒比海盗")


def mask_non_places(text: str) -> str:
    """The text with such words blanked (same length, so match positions stay)."""
    return _NOT_A_PLACE.sub(lambda m: "　" * len(m.group()), text)


@dataclass(frozen=True)
class Form:
    text: str
    code: str
    name: str
    needs_context: bool
    checked: bool = False  # a county's or town's short form: checked against the words around it


@lru_cache(maxsize=1)
def _common_words() -> dict[str, bool]:
    """``{word: is it a place word (ns)}`` of jieba's dictionary words that are ordinary words:
    at least ``COMMON_WORD_FREQ`` frequent, place words at least ``PLACE_WORD_FREQ``."""
    words: dict[str, bool] = {}
    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            word, freq, pos = line.split()
            f, place = int(freq), pos.startswith("ns")
            if f >= COMMON_WORD_FREQ and (f >= PLACE_WORD_FREQ or not place):
                words[word] = place
    return words


def _ordinary(short: str, level: str) -> bool:
    """A county's or town's short form that is an ordinary word (南部, 平和; a town's 西北 too:
    a county's frequent place word, 昆山, is the county)."""
    place = _common_words().get(short)
    return place is not None and (level == "town" or (level == "county" and not place))


def _in_a_word(text: str, start: int, end: int) -> bool:
    """True when a common word of two or three characters runs across either end of the match."""
    common = _common_words()
    for a in range(max(0, start - 2), start):
        if any(text[a:b] in common for b in range(start + 1, min(end, a + 3) + 1)):
            return True
    for b in range(end + 1, min(len(text), end + 2) + 1):
        if any(text[a:b] in common for a in range(max(start, b - 3), end)):
            return True
    return False


@lru_cache(maxsize=1)
def _national_counts() -> tuple[Counter, Counter]:
    gaz = load_gazetteer()
    return (Counter(d.name for d in gaz.by_code.values()),
            Counter(d.short for d in gaz.by_code.values() if d.short))


class PlaceMatcher:
    """Finds the jurisdiction's places in text; built once per profile."""

    def __init__(self, profile: Profile) -> None:
        gaz = load_gazetteer()
        names, shorts = _national_counts()
        own = set(profile.jurisdiction.codes)
        common = _common_words()
        forms: dict[str, Form] = {}
        for div in sorted(profile.places, key=lambda d: LEVELS.index(d.level)):  # higher first
            top = div.code in own and div.level in ("county", "city", "province")
            if not top and len(div.name) <= 2 and div.name in common:  # divisions named 街道, 城区
                continue
            forms.setdefault(div.name, Form(div.name, div.code, div.name, names[div.name] > 1))
            if div.short and div.short not in forms and (top or not _ordinary(div.short, div.level)):
                unique = shorts[div.short] == 1 and names.get(div.short, 0) == 0
                forms[div.short] = Form(div.short, div.code, div.name, not (top and unique),
                                        not top and div.level in ("county", "town"))
        self.forms = forms
        context = set(profile.jurisdiction.context_words)
        for code in profile.jurisdiction.codes:
            div = gaz.by_code[code]
            context.add(div.name)
            if div.short:
                context.add(div.short)
            parent = gaz.by_code.get(div.parent)
            if parent and parent.level == "city":
                context.update(x for x in (parent.name, parent.short) if x)
        self.context = {c for c in context if len(c) >= 2}
        alternatives = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        self._context = re.compile("|".join(map(re.escape, sorted(self.context, key=len, reverse=True))))

    def find(self, text: str) -> tuple[list[dict[str, str]], list[str]]:
        """``([{name, code}...], reasons)`` for the places named in ``text``."""
        if self._pattern is None:
            return [], []
        text = mask_non_places(text)
        places: dict[str, dict[str, str]] = {}
        skipped: set[str] = set()
        for match in self._pattern.finditer(text):
            form = self.forms[match.group()]
            if form.checked and _in_a_word(text, match.start(), match.end()):
                continue
            if form.needs_context:
                lo, hi = max(0, match.start() - CONTEXT_SPAN), match.end() + CONTEXT_SPAN
                window = text[lo:match.start()] + " " + text[match.end():hi]
                if not self._context.search(window):
                    if form.text == form.name:  # a bare short form is usually an ordinary word
                        skipped.add(form.text)
                    continue
            places.setdefault(form.code, {"name": form.name, "code": form.code})
        reasons = [f"地名：{'、'.join(p['name'] for p in places.values())}"] if places else []
        reasons += [f"「{s}」多地同名，附近无辖区上下文，未计入辖区" for s in sorted(skipped)]
        return list(places.values()), reasons


# -- 事发地在辖区外 (incidents placed outside the jurisdiction) ---------------------------------
FOREIGN = Path(__file__).parent / "data" / "foreign_places.csv"
# Chinese regions matched by full name, or by short form of provinces and cities (山东, 长治);
# county short forms are too often ordinary words (永和, 和平) and are left out.
_OUTSIDE_SHORT_LEVELS = ("province", "city")
_NOT_A_PLACE_AFTER = "族语文菜式裔"  # 朝鲜族, 日语, 泰国菜, 韩式: a people or a style, not a place
# City short forms that are ordinary words (白银 silver, 日照 sunshine, 安康 well-being, 长治久安,
# 三明治, 来宾 guests, 中卫 a football position): matched only by their full name.
_WORD_SHORTS = {"白银", "普洱", "安康", "长治", "大同", "黄山", "山南", "海东", "中卫", "来宾", "日照",
                "三明", "阿里", "兴安", "保山", "吉安", "永州", "海北", "海西", "果洛", "玉树", "迪庆",
                "红河", "文山", "楚雄", "德宏", "怒江", "黔南", "黔东南", "黔西南", "阿坝",
                "甘孜", "凉山", "恩施", "湘西", "延边", "临夏", "甘南", "昌吉", "博尔塔拉", "巴音郭楞",
                "克孜勒苏", "伊犁", "塔城", "阿勒泰", "阿克苏", "锡林郭勒", "阿拉善",
                "大兴安岭", "三沙"}


@dataclass(frozen=True)
class Outside:
    """A place named in a text that lies outside the jurisdiction."""

    name: str
    kind: str   # 外国 | 外省 | 本省外市 | 本市其他县区
    where: str  # the country or the province/city it belongs to (for the reason)


@lru_cache(maxsize=1)
def _foreign_rows() -> tuple[dict[str, str], ...]:
    with FOREIGN.open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=1)
def foreign_places() -> dict[str, str]:
    """``{name: country}`` for the shipped list of foreign countries and major cities (the
    country by its one name: 印尼 → 印度尼西亚)."""
    return {r["name"]: r["country"] for r in _foreign_rows()}


@lru_cache(maxsize=1)
def foreign_names() -> dict[str, str]:
    """``{name: the place's one name}``: another name of a place (印尼, 南韩, 海参崴) is that place
    (印度尼西亚, 韩国, 符拉迪沃斯托克), so a text naming both names one place, once."""
    return {r["name"]: r["same_as"] or r["name"] for r in _foreign_rows()}


@lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[str, str]]:
    """``{name: (level, region)}`` of the places an incident is put at outside a jurisdiction:
    a Chinese province, city or county by full or short name (region: its province's code), a
    foreign country or city (region: the country)."""
    out: dict[str, tuple[str, str]] = {}
    for div in sorted(load_gazetteer().by_code.values(), key=lambda d: LEVELS.index(d.level)):
        if div.level != "town":
            for name in (div.name, div.short):
                if name:
                    out.setdefault(name, (div.level, div.code[:2]))
    for r in _foreign_rows():
        out[r["name"]] = ("country" if r["kind"] == "country" else "city", r["country"])
    return out


def region_of(name: str) -> tuple[str, str]:
    """``(level, region)`` of a place named outside the jurisdiction (``("city", name)`` if unknown)."""
    return _regions().get(name, ("city", name))


class OutsideMatcher:
    """Names of places outside a profile's jurisdiction: foreign countries and cities, other
    provinces, other cities of the province, and the city's other counties.

    Looked up by each position's first two characters in a dict (a regex alternation of the
    ~3,700 names cost 0.3 ms a text, as much as the rest of the scoring)."""

    def __init__(self, profile: Profile) -> None:
        gaz = load_gazetteer()
        names, _ = _national_counts()
        upper = Counter(d.short for d in gaz.by_code.values() if d.level in _OUTSIDE_SHORT_LEVELS and d.short)
        own = set(profile.jurisdiction.codes) | {d.code for d in profile.places}
        ancestors = [a for code in profile.jurisdiction.codes for a in gaz.ancestors(code)]
        city = next((a.code for a in ancestors if a.level == "city"), "")
        province = next((a.code for a in ancestors if a.level == "province"), "")
        one_name = foreign_names()
        forms: dict[str, Outside] = {n: Outside(one_name[n], "外国", c) for n, c in foreign_places().items()}
        own_names = {d.name for d in profile.places} | {d.short for d in profile.places if d.short}
        own_names |= {x for a in ancestors for x in (a.name, a.short) if x}
        for div in gaz.by_code.values():
            if div.code in own or div.code in {a.code for a in ancestors} or div.level == "town":
                continue
            if div.level == "county" and (names[div.name] > 1 or len(div.name) < 3):
                continue
            kind, where = self._kind(gaz, div, city, province)
            cands = [div.name]
            if div.level in _OUTSIDE_SHORT_LEVELS and div.short and upper[div.short] == 1 \
                    and div.short not in _WORD_SHORTS and names.get(div.short, 0) == 0:
                cands.append(div.short)
            for name in cands:  # a short form (山东) is the place by its full name (山东省)
                if name not in own_names and name not in forms:
                    forms[name] = Outside(div.name, kind, where)
        self.forms = forms
        self._by_prefix: dict[str, list[str]] = {}
        for name in sorted(forms, key=len, reverse=True):  # longest first: 胡志明市 before 胡志明
            self._by_prefix.setdefault(name[:2], []).append(name)

    @staticmethod
    def _kind(gaz: Any, div: Any, city: str, province: str) -> tuple[str, str]:
        chain = [div] + gaz.ancestors(div.code)
        prov = next((d for d in chain if d.level == "province"), div)
        if prov.code != province:
            return "外省", prov.name
        town_city = next((d for d in chain if d.level == "city"), None)
        if town_city is None or town_city.code != city:
            return "本省外市", (town_city or prov).name
        return "本市其他县区", town_city.name

    def find(self, text: str) -> list[Outside]:
        found: dict[str, Outside] = {}
        text = mask_non_places(text)
        i, end = 0, len(text) - 1
        while i < end:
            names = self._by_prefix.get(text[i:i + 2])
            hit = next((n for n in names if text.startswith(n, i)), None) if names else None
            if hit is None:
                i += 1
                continue
            after = text[i + len(hit):i + len(hit) + 1]
            if not (after and after in _NOT_A_PLACE_AFTER):
                place = self.forms[hit]
                found.setdefault(place.name, place)
            i += len(hit)
        return list(found.values())


def describe_outside(found: list[Outside], most: int = 3) -> str:
    """The places outside named for a reason, each once, a foreign city under its country:
    「印度尼西亚（爪哇）」, 「韩国（首尔、釜山）」, not 「印度尼西亚、爪哇」."""
    cities: dict[str, list[str]] = {}
    for o in found:
        if o.kind == "外国" and o.name != o.where:
            cities.setdefault(o.where, []).append(o.name)
    shown: list[str] = []
    for o in found:
        if o.kind != "外国":
            shown.append(o.name)
        elif o.where not in shown and not any(x.startswith(o.where + "（") for x in shown):
            mine = cities.get(o.where)
            shown.append(f"{o.where}（{'、'.join(mine)}）" if mine else o.where)
    return "、".join(shown[:most])

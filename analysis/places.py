"""辖区地名识别 (places of the jurisdiction named in a text), from the gazetteer.

- Full names unique in the country (巴公镇) count on their own.
- The jurisdiction's own short form (泽州 for 泽州县) counts when it is unique in the country.
- Names shared with other counties (城关镇, 南村镇) and all short forms of towns (巴公, 山河)
  count only with context nearby: the profile's ``jurisdiction.context_words`` or the name of the
  jurisdiction itself or of its parent city.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from yuqing.gazetteer import load_gazetteer
from yuqing.profile import Profile

CONTEXT_SPAN = 60  # characters either side in which a context word must appear


@dataclass(frozen=True)
class Form:
    text: str
    code: str
    name: str
    needs_context: bool


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
        forms: dict[str, Form] = {}
        for div in profile.places:
            top = div.code in own and div.level in ("county", "city", "province")
            forms.setdefault(div.name, Form(div.name, div.code, div.name, names[div.name] > 1))
            if div.short and div.short not in forms:
                unique = shorts[div.short] == 1 and names.get(div.short, 0) == 0
                forms[div.short] = Form(div.short, div.code, div.name, not (top and unique))
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
        places: dict[str, dict[str, str]] = {}
        skipped: set[str] = set()
        for match in self._pattern.finditer(text):
            form = self.forms[match.group()]
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

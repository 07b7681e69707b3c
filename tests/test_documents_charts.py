"""The charts' CJK font: found even when matplotlib's font cache predates the font."""

from __future__ import annotations

import pytest
from matplotlib import font_manager

from yuqing.documents import charts


def test_a_cjk_font_installed_after_the_font_cache_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI installs fonts-noto-cjk; a machine whose matplotlib cache was written before that would
    otherwise draw every Chinese label as a box (and the suite turns that warning into a failure)."""
    assert charts.has_cjk_font(), "no CJK font on this machine (fonts-noto-cjk)"
    cjk_files = {f.fname for f in font_manager.fontManager.ttflist if f.name in charts.CJK_FONTS}
    stale = [f for f in font_manager.fontManager.ttflist if f.fname not in cjk_files]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)  # the cache as written before
    charts.pyplot.cache_clear()
    try:
        assert charts.has_cjk_font()
        assert charts.pyplot().rcParams["font.sans-serif"][0] in charts.CJK_FONTS
    finally:
        charts.pyplot.cache_clear()

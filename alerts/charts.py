"""传播趋势图 (volume trend chart): items per hour over a digest's period, as a PNG.

Uses a CJK font when one is installed (Noto Sans CJK from Debian's fonts-noto-cjk, WenQuanYi,
Source Han); without one the labels fall back to English so no glyph renders as a box.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def volume_chart(points: list[tuple[datetime, int]], path: Path, title: str) -> Path:
    """Draw ``(local hour, count)`` points as a bar chart into ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    from matplotlib import pyplot as plt
    from matplotlib.dates import DateFormatter

    font = cjk_font()
    labels = (title, "时间", "条数") if font else ("Items per hour", "Time", "Items")
    rc = {"font.family": [font, "DejaVu Sans"]} if font else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(8, 3.2), dpi=110)
        try:
            hours = [p[0].replace(tzinfo=None) for p in points]
            counts = [p[1] for p in points]
            ax.bar(hours, counts, width=1 / 24 * 0.8, color="#c0392b", align="edge")
            ax.set_title(labels[0])
            ax.set_xlabel(labels[1])
            ax.set_ylabel(labels[2])
            ax.xaxis.set_major_formatter(DateFormatter("%m-%d %H:%M"))
            ax.grid(axis="y", alpha=0.3)
            fig.autofmt_xdate()
            fig.tight_layout()
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
    return path

"""How a benchmark reports a figure, so the README tables are written from real runs.

A benchmark prints ``FIGURE|<area>|<what>|<value>|<target>`` lines (via :func:`figure`);
``python bench/report.py`` runs the benchmarks, collects those lines and rewrites the
README's performance and reliability tables with the command and the date.
"""

from __future__ import annotations


def figure(area: str, what: str, value: str, target: str = "") -> None:
    print(f"FIGURE|{area}|{what}|{value}|{target}", flush=True)


def command() -> None:
    """Print the command line this run was started with, so a saved run's figures name it."""
    import sys

    print("COMMAND|python " + " ".join(sys.argv), flush=True)

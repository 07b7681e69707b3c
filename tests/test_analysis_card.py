"""The shipped model card (模型说明) says what the training run measured: its figures are rendered
from ``analysis/models/figures.json`` by ``yuqing model train`` and never edited by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

from yuqing.analysis.card import write_card

MODELS = Path(__file__).resolve().parents[1] / "analysis" / "models"


def _figures() -> dict:
    return json.loads((MODELS / "figures.json").read_text(encoding="utf-8"))


def test_the_card_is_figures_json_rendered(tmp_path: Path) -> None:
    """A hand edit of the card (or of card.py without a new run) shows as a difference."""
    write_card(tmp_path / "card.md", _figures())
    rendered = (tmp_path / "card.md").read_text(encoding="utf-8").splitlines()
    shipped = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8").splitlines()
    differ = [(i + 1, a, b) for i, (a, b) in enumerate(zip(rendered, shipped, strict=False)) if a != b]
    assert not differ and len(rendered) == len(shipped), f"MODEL_CARD.md differs from figures.json: {differ[:3]}"


def test_the_card_table_gives_each_genre_figure_of_the_run() -> None:
    """The per-genre remit table (shipped F1, precision, recall, model alone, baseline) and the
    headline figures agree with figures.json, genre by genre."""
    remit = _figures()["emergency"]
    card = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2).split(" | ")
            for m in re.finditer(r"^\| (headline|weibo|article|message) \| (.+) \|$", card, re.M)}
    assert set(rows) == {g["genre"] for g in remit["genres"]}
    for g in remit["genres"]:
        n, positives, f1, precision, recall, model_f1, char_f1 = rows[g["genre"]][:7]
        assert (int(n), int(positives)) == (g["n"], g["positives"])
        assert f1 == f"**{g['f1']:.3f}**", g["genre"]
        assert [precision, recall, model_f1, char_f1] == [
            f"{g[k]:.3f}" for k in ("precision", "recall", "model_f1", "char_f1")], g["genre"]
    assert f"cross-validated **F1 {remit['f1']:.3f}**" in card
    assert f"shipped pipeline (model + the usage rule below): **F1 {remit['shipped_f1']:.3f}**" in card
    assert f"precision **{remit['usage_rule']['precision']:.3f}**" in card

"""`yuqing model retrain` folds the monitor's review labels in and versions the remit model."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from yuqing.analysis.modelstore import load
from yuqing.analysis.retrain import retrain
from yuqing.models import ReviewLabel

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"

pytestmark = pytest.mark.slow

CONFIRMED = ["泽州县一化工厂发生爆炸起火，3人受伤被送医", "巴公镇山体滑坡致道路中断，应急部门正在抢险",
             "暴雨致村庄内涝，消防救援转移被困群众20人"] * 4
DISMISSED = ["这场比赛后卫的失误就是一场事故", "某饭店发生食物中毒，市场监管部门介入",
             "新冠疫苗接种点今日开放"] * 4


def test_retrain_folds_labels_versions_and_promotes_when_not_worse(runtime) -> None:  # type: ignore[no-untyped-def]
    assert CORPORA.is_dir(), f"corpora expected at {CORPORA}"
    now = runtime.now()
    with runtime.session() as s:
        for text in CONFIRMED:
            s.add(ReviewLabel(label="confirm", text=text, by="monitor", at=now))
        for text in DISMISSED:
            s.add(ReviewLabel(label="dismiss", text=text, by="monitor", at=now))
    before = load("emergency", str(runtime.settings.data_dir))
    result = retrain(runtime, CORPORA, now)
    assert result.labels == len(CONFIRMED) + len(DISMISSED)
    assert 0.0 <= result.current_f1 <= 1.0 and 0.0 <= result.candidate_f1 <= 1.0
    assert result.promoted == (result.candidate_f1 >= result.current_f1)
    after = load("emergency", str(runtime.settings.data_dir))
    with runtime.session() as s:
        used = {r.used_in_model for r in s.scalars(select(ReviewLabel))}
    if result.promoted:
        assert after.version == result.version != before.version
        assert (runtime.settings.data_dir / "models" / f"emergency-{result.version}.npz").is_file()
        assert used == {result.version}
    else:
        assert after.version == before.version and used == {""}

"""One step the command line and the page share: assess a draft, store it as a revision, write its 预案."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yuqing.clock import local
from yuqing.runtime import Runtime

from .assess import Foresight, assess
from .draft import Draft
from .plan import build_plan
from .plan_docx import write_plan_docx
from .records import record


@dataclass
class Done:
    foresight: Foresight
    assessment_id: int
    number: int
    by: str
    plan_path: str
    changes: list[str]


def plan_folder(rt: Runtime) -> Path:
    return Path(rt.settings.data_dir) / "foresight"


def assess_and_record(rt: Runtime, draft: Draft, by: str, assessment_id: int | None = None,
                      out: Path | None = None) -> Done:
    """Assess ``draft`` (a new assessment, or the next draft of ``assessment_id``) and write its 预案 DOCX."""
    now = rt.now()
    with rt.session() as s:
        f = assess(s, draft, rt.profile)
        revision = record(s, f, by, now, rt.settings.timezone, assessment_id)
        path = out or plan_folder(rt) / f"assessment-{revision.assessment_id}-r{revision.number}.docx"
        issued = local(now, rt.settings.timezone).date()
        write_plan_docx(build_plan(f, rt.profile, issued), path, now, rt.settings.timezone)
        revision.plan_path = str(path)
        return Done(f, revision.assessment_id, revision.number, by, str(path), list(revision.changes))

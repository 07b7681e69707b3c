"""The 操作日志 page reads words, never codes: every action and target the product audits has
its Chinese label (dashboards/labels.py; label() shows the bare code for one nobody named)."""

from __future__ import annotations

import ast
from pathlib import Path

from yuqing.dashboards.labels import AUDIT_ACTIONS, TARGETS

ROOT = Path(__file__).resolve().parent.parent
# The product's folders only: a virtual environment or a build in the working tree is not ours.
PRODUCT = ("yuqing", "crawlers", "analysis", "alerts", "queue", "dashboards")
# Actions written with an f-string, spelled out: what each can become.
FORMED = {"alert.review.": ("confirm", "dismiss", "level", "restore"), "report.": ("html", "docx", "pdf"),
          "period.": ("docx", "pdf"), "ticket.": ("close", "keep")}


def _audited() -> tuple[set[str], set[str], list[str]]:
    """(actions, targets, f-string prefixes not in FORMED) of every audit call in the product."""
    actions: set[str] = set()
    targets: set[str] = set()
    unknown: list[str] = []
    for path in (p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("audit", "_audit") and len(node.args) >= 4:
                action, target = node.args[3], node.args[4] if len(node.args) > 4 else None
            elif name == "AuditEntry":
                kw = {k.arg: k.value for k in node.keywords}
                action, target = kw.get("action"), kw.get("target_type")
            else:
                continue
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                actions.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                prefix = "".join(str(v.value) for v in action.values if isinstance(v, ast.Constant))
                if prefix in FORMED:
                    actions.update(prefix + end for end in FORMED[prefix])
                else:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno} {prefix}…")
            if isinstance(target, ast.Constant) and isinstance(target.value, str) and target.value:
                targets.add(target.value)
    return actions, targets, unknown


def test_every_audited_action_and_target_has_its_chinese_label() -> None:
    actions, targets, unknown = _audited()
    assert len(actions) > 30, "the scan found the audit calls"
    assert unknown == [], "an action made with an f-string: spell out what it can become in FORMED"
    assert sorted(a for a in actions if a not in AUDIT_ACTIONS) == []
    assert sorted(t for t in targets if t not in TARGETS) == []

"""The command line: clear one-line errors with a hint, status, export, docs kept honest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from yuqing.models import Event, Item

REPO = Path(__file__).resolve().parent.parent


def yuqing(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "yuqing", *args], capture_output=True, text=True,
                          env=base, cwd=REPO, timeout=120)


def _env(rt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"YUQING_DATA_DIR": str(rt.settings.data_dir), "YUQING_DATABASE_URL": rt.settings.sqlalchemy_url,
            "YUQING_REDIS_URL": rt.settings.redis_url}


def test_bad_profile_is_one_line_and_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("bureau: {name: x}\n", encoding="utf-8")
    out = yuqing("config", "check", "--profile", str(bad), env={"YUQING_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith(f"错误: {bad}: 字段 ")
    assert lines[1].startswith("提示: ")
    assert "Traceback" not in out.stderr


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    out = yuqing("status", env={"YUQING_WEB_PORT": "http"})
    assert out.returncode == 2
    assert out.stderr.startswith("错误: 环境变量 YUQING_WEB_PORT: 设置项 web_port 无效")
    assert "Traceback" not in out.stderr


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    out = yuqing("config", "check", env={"YUQING_DATA_DIR": str(tmp_path), "YUQING_SMTP_PASSWORD": "hunter2"})
    assert out.returncode == 0, out.stderr
    assert "smtp_password        = <secret>" in out.stdout
    assert "hunter2" not in out.stdout
    assert "泽州县应急管理局" in out.stdout


def test_status_counts_and_says_what_is_down(runtime) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with runtime.session() as s:
        s.add(Item(url="https://a.example/1", url_hash="h1", content_hash="c", fetched_at=now, title="标题"))
        s.add(Event(title="事件", first_seen_at=now, last_seen_at=now, updated_at=now))
    out = yuqing("status", "--json", env=_env(runtime))
    report = json.loads(out.stdout)
    assert report["counts"]["items"] == 1 and report["counts"]["events"] == 1
    assert report["redis"] == "up" and report["database"] == "up"
    # No worker and no scheduler run in this test: status says so and exits non-zero.
    assert out.returncode == 1
    assert any("没有运行中的 worker" in p for p in report["problems"])
    assert any("调度器未运行" in p for p in report["problems"])


def test_status_when_redis_is_down(runtime) -> None:  # type: ignore[no-untyped-def]
    env = _env(runtime) | {"YUQING_REDIS_URL": "redis://127.0.0.1:1/0"}
    out = yuqing("status", env=env)
    assert out.returncode == 1
    assert "Redis 不可用" in out.stdout


def test_export_streams_json_lines(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with runtime.session() as s:
        for n in range(3):
            s.add(Item(url=f"https://a.example/{n}", url_hash=f"h{n}", content_hash="c", fetched_at=now,
                       title=f"第{n}条"))
    target = tmp_path / "items.jsonl"
    out = yuqing("export", "items", "--output", str(target), env=_env(runtime))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["title"] for r in rows] == ["第0条", "第1条", "第2条"]
    assert rows[0]["fetched_at"].endswith("+00:00")
    bad = yuqing("export", "users", env=_env(runtime))
    assert bad.returncode == 2 and "不能导出 'users'" in bad.stderr


def test_every_command_is_documented_in_readme() -> None:
    from typer.main import get_command

    from yuqing.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    root = get_command(app)
    missing = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        names = [f"yuqing {name} {sub}" for sub in subs] if subs else [f"yuqing {name}"]
        for full in names:
            group = f"yuqing {name}"
            if full not in readme and not (subs and group in readme and all(
                    sub in readme for sub in subs)):
                missing.append(full)
    assert not missing, f"commands missing from README: {missing}"

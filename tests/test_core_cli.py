"""The command line: clear one-line errors with a hint, status, export, docs kept honest.

What a command says is checked in this process (``cli``: yuqing.cli.main with its own argv,
environment and streams); a few tests start the real `python -m yuqing` (``yuqing``), for the
process itself: its exit status, its streams, signals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from cli_inproc import Ran, run_yuqing

from yuqing.models import Event, Item

REPO = Path(__file__).resolve().parent.parent


def yuqing(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "yuqing", *args], capture_output=True, text=True,
                          env=base, cwd=REPO, timeout=120)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    return partial(run_yuqing, monkeypatch)


def _env(rt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"YUQING_DATA_DIR": str(rt.settings.data_dir), "YUQING_DATABASE_URL": rt.settings.sqlalchemy_url,
            "YUQING_REDIS_URL": rt.settings.redis_url}


def test_bad_profile_is_one_line_and_a_hint(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("bureau: {name: x}\n", encoding="utf-8")
    out = cli("config", "check", "--profile", str(bad), env={"YUQING_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith(f"错误: {bad}: 字段 ")
    assert lines[1].startswith("提示: ")
    assert "Traceback" not in out.stderr


@pytest.mark.slow  # a whole `python -m yuqing` in a child process: 7 s on the 2-core machine
def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    out = yuqing("status", env={"YUQING_WEB_PORT": "http"})
    assert out.returncode == 2
    assert out.stderr.startswith("错误: 环境变量 YUQING_WEB_PORT: 设置项 web_port 无效")
    assert "Traceback" not in out.stderr


def test_config_check_masks_secrets(cli, tmp_path: Path) -> None:
    out = cli("config", "check", env={"YUQING_DATA_DIR": str(tmp_path), "YUQING_SMTP_PASSWORD": "hunter2"})
    assert out.returncode == 0, out.stderr
    assert "smtp_password        = <secret>" in out.stdout
    assert "hunter2" not in out.stdout
    assert "泽州县应急管理局" in out.stdout


@pytest.mark.slow  # a whole `python -m yuqing status` in a child process: 11 s on the 2-core machine
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


def test_status_when_redis_is_down(cli, runtime) -> None:  # type: ignore[no-untyped-def]
    env = _env(runtime) | {"YUQING_REDIS_URL": "redis://127.0.0.1:1/0"}
    out = cli("status", env=env)
    assert out.returncode == 1
    assert "Redis 不可用" in out.stdout


def test_export_streams_json_lines(cli, runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with runtime.session() as s:
        for n in range(3):
            s.add(Item(url=f"https://a.example/{n}", url_hash=f"h{n}", content_hash="c", fetched_at=now,
                       title=f"第{n}条"))
    target = tmp_path / "items.jsonl"
    out = cli("export", "items", "--output", str(target), env=_env(runtime))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["title"] for r in rows] == ["第0条", "第1条", "第2条"]
    assert rows[0]["fetched_at"].endswith("+00:00")
    bad = cli("export", "users", env=_env(runtime))
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


# ---- every user's mistake is one Chinese line, no traceback, no file left behind ------------

def _one_line(out: Ran | subprocess.CompletedProcess[str], line: str, code: int = 2) -> None:
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr
    assert out.stderr.splitlines()[0] == line, out.stderr
    assert out.returncode == code, out.stderr


@pytest.mark.parametrize("args", [("sources", "list"), ("status",), ("tickets", "list"), ("user", "list"),
                                  ("report", "build", "1"), ("export", "items"), ("crawl",)])
def test_before_init_every_command_says_run_init(cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    data = tmp_path / "fresh"
    out = cli(*args, env={"YUQING_DATA_DIR": str(data)})
    _one_line(out, "错误: 数据库尚未初始化：先运行 yuqing init")
    assert out.stderr.count("\n") == 1
    assert not data.exists(), "no empty yuqing.db (or folder) may be left behind"


def test_init_then_commands_work_and_init_says_how_to_enable_sources(cli, tmp_path: Path) -> None:
    env = {"YUQING_DATA_DIR": str(tmp_path / "d")}
    out = cli("init", env=env)
    assert out.returncode == 0, out.stderr
    assert "画像: 泽州县应急管理局；载入信源 9 个，库中已启用 0 个" in out.stdout
    assert "enabled: true" in out.stdout and "yuqing sources load" in out.stdout
    listed = cli("sources", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "应急管理部" in listed.stdout
    missing = cli("report", "build", "99", env=env)
    _one_line(missing, "错误: 工单 99 不存在，无法生成报告")
    assert missing.stderr.splitlines()[1] == "提示: 运行 `yuqing tickets list` 查看工单编号。"


@pytest.mark.parametrize(("args", "line"), [
    (("run", "--port", "abc"),
     "错误: yuqing run 的选项 --port 无效：应为整数（实际为 'abc'）（运行 yuqing run --help 查看用法）"),
    (("report", "build", "abc"),
     "错误: yuqing report build 的参数 工单编号（TICKET_ID） 无效：应为整数（实际为 'abc'）"
     "（运行 yuqing report build --help 查看用法）"),
    (("report", "build"),
     "错误: yuqing report build 缺少参数 工单编号（TICKET_ID）（运行 yuqing report build --help 查看用法）"),
    (("status", "--jsn"),
     "错误: yuqing status 没有选项 --jsn，是否想用 --json？（运行 yuqing status --help 查看用法）"),
    (("run", "--port"),
     "错误: yuqing run 的选项 --port 用法不对：须跟一个值（运行 yuqing run --help 查看用法）"),
    (("export", "items", "extra"),
     "错误: yuqing export 多余的参数：extra（运行 yuqing export --help 查看用法）"),
])
def test_bad_parameters_are_one_chinese_line(cli, tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    data = tmp_path / "d"
    out = cli(*args, env={"YUQING_DATA_DIR": str(data)})
    _one_line(out, line)
    assert out.stderr.count("\n") == 1
    assert not data.exists()


def test_unknown_subcommand_names_it_and_suggests(cli, tmp_path: Path) -> None:
    out = cli("repot", env={"YUQING_DATA_DIR": str(tmp_path / "d")})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("错误: yuqing 没有子命令 'repot'，是否想用 yuqing report？（可用：")
    assert "init、" in out.stderr and out.stderr.count("\n") == 1
    nested = cli("report", "bild", env={"YUQING_DATA_DIR": str(tmp_path / "d")})
    assert nested.stderr.startswith("错误: yuqing report 没有子命令 'bild'，是否想用 yuqing report build？")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("env", "line"), [
    ({"YUQING_WEB_PORT": "http"}, "错误: 环境变量 YUQING_WEB_PORT: 设置项 web_port 无效：应为整数（实际为 'http'）"),
    ({"YUQING_WORKERS": "0"}, "错误: 环境变量 YUQING_WORKERS: 设置项 workers 无效：应不小于 1（实际为 '0'）"),
    ({"YUQING_SMTP_STARTTLS": "maybe"},
     "错误: 环境变量 YUQING_SMTP_STARTTLS: 设置项 smtp_starttls 无效：应为 true 或 false（实际为 'maybe'）"),
    ({"YUQING_COLOUR": "red"}, "错误: 环境变量 YUQING_COLOUR: 未知设置项 'colour'"),
])
def test_settings_errors_are_chinese_and_name_the_key(cli, tmp_path: Path, env: dict[str, str], line: str) -> None:
    out = cli("status", env={"YUQING_DATA_DIR": str(tmp_path / "d"), **env})
    _one_line(out, line)
    assert out.stderr.splitlines()[1] == "提示: 运行 `yuqing config check` 查看全部设置及其说明。"
    assert not (tmp_path / "d").exists()


def test_settings_file_error_names_the_file_and_key(cli, tmp_path: Path) -> None:
    toml = tmp_path / "yuqing.toml"
    toml.write_text("web_port = 99999\n", encoding="utf-8")
    out = cli("config", "check", "--config", str(toml))
    _one_line(out, f"错误: {toml}: 设置项 web_port 无效：应不大于 65535（实际为 '99999'）")


def test_missing_profile_file_hint_fits(cli, tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    out = cli("config", "check", "--profile", str(missing), env={"YUQING_DATA_DIR": str(tmp_path / "d")})
    _one_line(out, f"错误: {missing}: 画像文件不存在")
    assert out.stderr.splitlines()[1] == ("提示: 用 --profile 或 YUQING_PROFILE 给出内置画像名称（如 "
                                          "zezhou-emergency）或现有 YAML 文件的路径。")
    unknown = cli("config", "check", "--profile", "nowhere", env={"YUQING_DATA_DIR": str(tmp_path / "d")})
    _one_line(unknown, "错误: nowhere: 没有这个内置画像，可选: nanning-meteorological, zezhou-emergency")


def test_profile_value_error_is_chinese(cli, tmp_path: Path) -> None:
    shipped = (REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "p.yaml"
    bad.write_text(shipped.replace("cool_down_hours: 72", "cool_down_hours: soon"), encoding="utf-8")
    out = cli("config", "check", "--profile", str(bad), env={"YUQING_DATA_DIR": str(tmp_path / "d")})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines()[0] == f"错误: {bad}: 字段 clocks.cool_down_hours: 应为数字"


def test_shipped_profiles_carry_disabled_starter_sources() -> None:
    from yuqing.crawlers.sources import validate_sources
    from yuqing.profile import builtin_profiles, load_profile

    for name in builtin_profiles():
        profile = load_profile(name)
        specs = validate_sources(profile.sources, name)
        assert len(specs) >= 5, name
        assert not any(s.enabled for s in specs), f"{name}: starter sources must be off until checked"
        assert {s.tier for s in specs} >= {"government", "central"}
        text = (REPO / "profiles" / f"{name}.yaml").read_text(encoding="utf-8")
        assert "默认全部停用" in text and "yuqing sources load" in text


def test_demo_rerun_continues_the_same_story(tmp_path: Path) -> None:
    from yuqing.demo import STATE_FILE, resume_site
    from yuqing.exceptions import YuqingError

    first, resumed = resume_site(tmp_path, speed=4)
    assert not resumed and (tmp_path / STATE_FILE).is_file()
    port, started, urls = first.port, first.started, [s["urls"] for s in first.sources()]
    first.server.server_close()
    again, resumed = resume_site(tmp_path, speed=1)
    try:
        assert resumed
        assert (again.port, again.started, again.speed) == (port, started, 4)
        assert [s["urls"] for s in again.sources()] == urls  # the same addresses: nothing is crawled twice
        with pytest.raises(YuqingError, match=f"演示站点原用端口 {port} 已被占用"):
            resume_site(tmp_path)
    finally:
        again.server.server_close()


@pytest.mark.slow
def test_embedded_redis_is_out_of_reach_of_ctrl_c(tmp_path: Path) -> None:
    from yuqing.tasks.connection import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        assert server.process is not None
        # Ctrl-C signals the terminal's foreground process group; Redis must outlive the workers.
        assert os.getpgid(server.process.pid) != os.getpgid(0)
    finally:
        server.stop()


@pytest.mark.slow
def test_ctrl_c_stops_the_scheduler_and_workers_before_redis(tmp_path: Path) -> None:
    import signal
    import time

    data = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_DATA_DIR": str(data), "YUQING_WEB_PORT": "0", "YUQING_WORKERS": "1"})
    # Its own process group, as a terminal gives it: Ctrl-C signals the whole group at once.
    proc = subprocess.Popen([sys.executable, "-m", "yuqing", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        logs = data / "logs"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the scheduler is up once it has enqueued its first job
            sched = logs / "scheduler.log"
            if sched.is_file() and "CronScheduler" in sched.read_text(encoding="utf-8", errors="replace"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("scheduler did not start")
        time.sleep(2)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert out.rstrip().endswith("已停止。") and "Traceback" not in out
    printed = re.search(r"yuqing 已启动：http://127\.0\.0\.1:(\d+)", out)
    assert printed and int(printed.group(1)) > 0, out  # port 0 means 随机: the chosen one is printed
    for log in logs.glob("*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text and "ConnectionError" not in text, f"{log.name}:\n{text[-2000:]}"


def test_port_zero_becomes_a_free_port_chosen_before_the_web_starts() -> None:
    import socket

    from yuqing.runner import resolve_port

    assert resolve_port("127.0.0.1", 8123) == 8123
    chosen = resolve_port("127.0.0.1", 0)
    assert chosen > 0
    with socket.socket() as listener:  # free: the web process can bind it
        listener.bind(("127.0.0.1", chosen))

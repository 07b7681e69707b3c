"""The `yuqing` command line. Errors are one clear line plus a hint, never a traceback.

Core commands live here; each subsystem adds its own through ``<subsystem>.cli.register``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli_options import ConfigOpt, ProfileOpt, runtime_from
from .exceptions import YuqingError

if TYPE_CHECKING:
    from .runtime import Runtime

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="yuqing 舆情监测与回应处置系统")
config_app = typer.Typer(no_args_is_help=True, help="设置与画像检查")
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """检查设置与单位画像；打印全部设置（密钥显示为 <secret>）。"""
    rt = runtime_from(config, profile, store=False)
    for name, value in rt.settings.shown().items():
        typer.echo(f"{name:20} = {value}")
    if rt.settings.plain_smtp_warning():
        typer.echo(rt.settings.plain_smtp_warning())
    p = rt.profile
    typer.echo(f"画像 {p.source_path}: {p.bureau.name}，辖区 {len(p.places)} 个区划，"
               f"{len(p.sections)} 个科室，{len(p.departments)} 个外部部门 —— 通过")


@app.command()
def init(config: ConfigOpt = None, profile: ProfileOpt = None,
         sources: Annotated[Path | None, typer.Option(help="信源 YAML 文件")] = None) -> None:
    """创建或升级数据库，载入单位画像及其信源。"""
    from .store import migrate

    rt = runtime_from(config, profile, store=False)
    migrate(rt.settings.sqlalchemy_url)
    typer.echo(f"数据库就绪: {rt.settings.sqlalchemy_url}")
    from yuqing.crawlers.sources import load_sources_into_store

    count = load_sources_into_store(rt, sources or rt.settings.sources or None)
    enabled = _enabled_sources(rt)
    typer.echo(f"画像: {rt.profile.bureau.name}；载入信源 {count} 个，库中已启用 {enabled} 个")
    if not enabled:
        typer.echo(f"启用信源：把画像 {rt.profile.source_path} 的 sources 中核对过的条目改为 enabled: true 后"
                   "重新运行 yuqing init；\n新增信源：写入信源 YAML 文件（顶层 sources: 列表），"
                   "运行 yuqing sources load 文件.yaml；yuqing sources list 查看全部信源。")


def _enabled_sources(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from .models import Source

    with rt.session() as s:
        return int(s.scalar(select(func.count()).select_from(Source).where(Source.enabled.is_(True))) or 0)


@app.command()
def worker(config: ConfigOpt = None, profile: ProfileOpt = None,
           queues: Annotated[list[str] | None, typer.Option("--queue", "-q", help="只处理这些队列")] = None,
           burst: Annotated[bool, typer.Option(help="队列清空后退出")] = False) -> None:
    """启动一个 RQ worker（默认处理全部队列）。"""
    from .tasks.worker import run_worker

    runtime_from(config, profile)
    run_worker(queues, burst=burst)


@app.command()
def scheduler(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """启动周期任务调度器（全系统只能运行一个）。"""
    from .tasks.scheduler import run_scheduler

    runtime_from(config, profile)
    run_scheduler()


@app.command()
def status(config: ConfigOpt = None, profile: ProfileOpt = None,
           as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """统计条目、事件、预警、未关闭工单、报送数量，以及各服务状态。"""
    from .status import collect_status, render_status

    rt = runtime_from(config, profile)
    report = collect_status(rt)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(render_status(report))
    if not report.get("ok", True):
        raise typer.Exit(1)


@app.command()
def export(what: Annotated[str, typer.Argument(help="items | events | tickets")],
           config: ConfigOpt = None, profile: ProfileOpt = None,
           output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件（默认标准输出）")] = None,
           ) -> None:
    """把条目、事件或工单导出为 JSON Lines。"""
    from .export import export_jsonl

    rt = runtime_from(config, profile)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        count = export_jsonl(rt, what, out)
    finally:
        if output:
            out.close()
    typer.echo(f"导出 {count} 条 {what}", err=True)


@app.command()
def run(config: ConfigOpt = None, profile: ProfileOpt = None,
        demo: Annotated[bool, typer.Option("--demo", help="同时启动演示站点与演示邮箱")] = False,
        speed: Annotated[float, typer.Option(help="演示剧情的快进倍数")] = 1.0,
        host: Annotated[str | None, typer.Option(help="Web 监听地址")] = None,
        port: Annotated[int | None, typer.Option(help="Web 端口")] = None) -> None:
    """一键运行：内嵌 Redis、worker、调度器与 Web 服务（Ctrl-C 停止）。"""
    from .runner import run as run_all

    rt = runtime_from(config, profile, store=False)  # it migrates the store itself
    run_all(rt, demo=demo, speed=speed, host=host, port=port)


def _register_subsystems() -> None:
    from yuqing.alerts import cli as alerts_cli
    from yuqing.analysis import cli as analysis_cli
    from yuqing.crawlers import cli as crawlers_cli
    from yuqing.dashboards import cli as dashboards_cli
    from yuqing.foresight import cli as foresight_cli
    from yuqing.queue import cli as queue_cli

    for module in (crawlers_cli, analysis_cli, alerts_cli, queue_cli, dashboards_cli, foresight_cli):
        module.register(app)


_register_subsystems()


def main() -> None:
    # Everything this process and its children write (the database and its -wal/-shm, logs,
    # reports, Redis's append-only file) is for this account only: 0600 files, 0700 folders.
    os.umask(0o077)
    try:
        code = app(standalone_mode=False)
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        sys.exit(code if isinstance(code, int) else 0)
    except YuqingError as exc:
        _fail(str(exc), exc.hint)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("已中止", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        _other_error(exc)


def _fail(message: str, hint: str = "", code: int = 2) -> None:
    typer.echo(f"错误: {message}", err=True)
    if hint:
        typer.echo(f"提示: {hint}", err=True)
    sys.exit(code)


def _other_error(exc: Exception) -> None:
    """Usage errors of typer's bundled click, and a store that is down: one line, no traceback."""
    from .cli_errors import NoArgsIsHelpError, is_usage_error, usage_line
    from .store import database_unavailable

    if isinstance(exc, NoArgsIsHelpError):
        exc.show()  # a group named without its subcommand: its help is the answer
        sys.exit(exc.exit_code)
    if is_usage_error(exc):
        from typer.main import get_command

        _fail(usage_line(exc, get_command(app), sys.argv[1:]))  # type: ignore[arg-type]
    if database_unavailable(exc):
        _fail(f"数据库不可用：{getattr(exc, 'orig', exc)}", "检查 YUQING_DATABASE_URL 所指的数据库是否在运行。", 1)
    if isinstance(exc, OSError) and exc.filename:
        _fail(f"{exc.filename}: {exc.strerror}", code=1)
    raise exc

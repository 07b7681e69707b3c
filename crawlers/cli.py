"""Command-line commands of yuqing.crawlers. Keep heavy imports inside the command functions.

``yuqing crawl [KEYS...] [--distributed]``, ``yuqing sources load FILE``,
``yuqing sources list``, ``yuqing sources check``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

sources_app = typer.Typer(no_args_is_help=True, help="信源管理：载入、列出、健康检查")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML 配置文件")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="单位画像名称或 YAML 路径")]
STATUS_CN = {"ok": "正常", "partial": "部分失败", "empty": "无数据", "failed": "失败", "timeout": "超时", "": "未运行"}


def _fmt(value: Any) -> str:
    from yuqing.clock import fmt

    return fmt(value) if value else "-"


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    app.command("crawl")(crawl)
    app.add_typer(sources_app, name="sources")


def crawl(keys: Annotated[list[str] | None, typer.Argument(help="信源 key（默认全部已启用信源）")] = None,
          distributed: Annotated[bool, typer.Option("--distributed",
                                                    help="经 Redis 与其他采集节点共享请求队列与去重")] = False,
          parallel: Annotated[int, typer.Option(help="同时采集的信源数")] = 2,
          config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """立即在前台采集信源，并打印每个信源的结果。"""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from yuqing.cli import runtime_from
    from yuqing.models import Source

    from .exceptions import CrawlError
    from .health import record_run
    from .jobs import run_child

    rt = runtime_from(config, profile)
    with rt.session() as s:
        query = select(Source).order_by(Source.key)
        rows = list(s.scalars(query.where(Source.key.in_(keys)) if keys else query.where(Source.enabled.is_(True))))
        chosen = [(src.id, src.key, src.name) for src in rows]
    missing = sorted(set(keys or ()) - {key for _, key, _ in chosen})
    if missing:
        raise CrawlError(f"未登记的信源：{', '.join(missing)}")

    def one(entry: tuple[int, str, str]) -> tuple[str, str, Any]:
        source_id, key, name = entry
        started = rt.now()
        run = run_child(rt, source_id, distributed)
        record_run(rt, source_id, run, started, rt.now())
        return key, name, run

    failed = 0
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for key, name, run in pool.map(one, chosen):
            failed += run.status in ("failed", "timeout")
            line = (f"{key:24} {name}  {STATUS_CN.get(run.status, run.status)}  页面 {run.pages}  "
                    f"发现 {run.found}  新增 {run.new}  更新 {run.updated}")
            typer.echo(line + (f"  原因：{run.reason}" if run.reason else ""))
    typer.echo(f"共采集 {len(chosen)} 个信源，失败 {failed} 个")


@sources_app.command("load")
def sources_load(file: Annotated[Path, typer.Argument(help="信源 YAML 文件")],
                 config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """校验并载入信源 YAML（按 key 新增或更新，保留健康记录）。"""
    from yuqing.cli import runtime_from

    from .sources import load_sources_into_store

    rt = runtime_from(config, profile)
    typer.echo(f"已载入 {load_sources_into_store(rt, file)} 个信源：{file}")


@sources_app.command("list")
def sources_list(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """列出全部信源（请求头与 Cookie 不显示）。"""
    from yuqing.cli import runtime_from

    from .health import health_rows

    rt = runtime_from(config, profile)
    rows = health_rows(rt)
    for r in rows:
        typer.echo(f"{r['key']:24} {r['name']}  {r['kind']:8} {r['tier']:10} "
                   f"{'启用' if r['enabled'] else '停用'}  下次 {_fmt(r['next_run_at'])}")
    typer.echo(f"共 {len(rows)} 个信源")


@sources_app.command("check")
def sources_check(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """信源健康表：最近成功、最近错误、连续失败、空跑次数；有异常信源时退出码为 1。"""
    from rich.console import Console
    from rich.table import Table

    from yuqing.cli import runtime_from

    from .health import health_rows

    rt = runtime_from(config, profile)
    rows = health_rows(rt)
    table = Table(title="信源健康")
    for col in ("信源", "类型", "状态", "最近运行", "最近成功", "连续失败", "空跑", "上次条目", "最近错误"):
        table.add_column(col)
    bad = 0
    for r in rows:
        unhealthy = r["enabled"] and not r["healthy"]
        bad += unhealthy
        state = "停用" if not r["enabled"] else ("[red]异常[/red]" if unhealthy else "[green]健康[/green]")
        table.add_row(f"{r['key']} {r['name']}", r["kind"], state, STATUS_CN.get(r["last_status"], r["last_status"]),
                      _fmt(r["last_success_at"]), str(r["consecutive_failures"]), str(r["empty_runs"]),
                      str(r["last_item_count"]), (r["last_error"] or "-")[:80])
    Console(width=200).print(table)
    typer.echo(f"共 {len(rows)} 个信源，异常 {bad} 个")
    if bad:
        raise typer.Exit(1)

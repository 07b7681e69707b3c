"""Command-line commands of yuqing.crawlers. Keep heavy imports inside the command functions.

``yuqing crawl [KEYS...] [--distributed]``, ``yuqing sources load FILE``,
``yuqing sources list``, ``yuqing sources check``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from yuqing.cli_options import ConfigOpt, ProfileOpt, runtime_from

sources_app = typer.Typer(no_args_is_help=True, help="信源管理：载入、列出、健康检查")

STATUS_CN = {"ok": "正常", "partial": "部分失败", "empty": "无数据", "failed": "失败", "timeout": "超时", "": "未运行"}


def _fmt(value: Any, tz: str) -> str:
    from yuqing.clock import fmt

    return fmt(value, tz) if value else "-"


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    app.command("crawl")(crawl)
    app.add_typer(sources_app, name="sources")


def crawl(keys: Annotated[list[str] | None, typer.Argument(help="信源 key（默认全部已启用信源）")] = None,
          distributed: Annotated[bool, typer.Option("--distributed",
                                                    help="经 Redis 与其他采集节点共享请求队列与去重")] = False,
          stay: Annotated[bool, typer.Option("--stay", help="与 --distributed 同用：队列空时不退出，"
                                             "等待新的请求，直到 yuqing crawl --stop")] = False,
          stop: Annotated[bool, typer.Option("--stop", help="通知这些信源的 --stay 采集节点在空闲时退出")] = False,
          parallel: Annotated[int, typer.Option(help="同时采集的信源数")] = 2,
          wait: Annotated[bool, typer.Option("--wait", help="等待本次入库条目分析完成；无法完成时退出码为 1")] = False,
          wait_timeout: Annotated[int, typer.Option(help="--wait 的最长等待时间（秒）")] = 300,
          config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """立即在前台采集信源，并打印每个信源的结果。"""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

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
    if stop:
        _stop_nodes(rt, rows)
        return
    if stay and not distributed:
        raise CrawlError("--stay 只能与 --distributed 同用（单机采集在完成后即退出）")

    def one(entry: tuple[int, str, str]) -> tuple[str, str, Any]:
        source_id, key, name = entry
        started = rt.now()
        run = run_child(rt, source_id, distributed, stay)
        record_run(rt, source_id, run, started, rt.now())
        return key, name, run

    failed = deferred = 0
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for key, name, run in pool.map(one, chosen):
            failed += run.status in ("failed", "timeout")
            deferred += int(run.stats.get("yuqing/analysis_deferred", 0))
            line = (f"{key:24} {name}  {STATUS_CN.get(run.status, run.status)}  页面 {run.pages}  "
                    f"发现 {run.found}  新增 {run.new}  更新 {run.updated}")
            typer.echo(line + (f"  原因：{run.reason}" if run.reason else ""))
    typer.echo(f"共采集 {len(chosen)} 个信源，失败 {failed} 个")
    if deferred:
        typer.echo(f"分析任务未能入队（Redis 不可用）：已入库的 {deferred} 条将在分析进程（yuqing run 或 "
                   "yuqing worker）启动后自动分析")
    if wait:
        _wait_for_analysis(rt, [source_id for source_id, _, _ in chosen], deferred, wait_timeout)


STOP_TTL = 120  # seconds a stop request stands: nodes idle within it close; later ones stay


def _stop_nodes(rt: Any, rows: list[Any]) -> None:
    from .distributed import stop_key

    redis = rt.get_redis()
    for src in rows:
        redis.set(stop_key(f"{src.kind}-{src.key}"), "1", ex=STOP_TTL)
    typer.echo(f"已通知 {len(rows)} 个信源的采集节点：处理完手头请求、队列空闲时退出")


def _wait_for_analysis(rt: Any, source_ids: list[int], deferred: int, timeout: int) -> None:
    """--wait: until every item of these sources is analysed; exit 1 when that cannot be."""
    import time

    from sqlalchemy import func, select

    from yuqing.models import Item

    if deferred:
        raise typer.Exit(1)  # no queue to wait on: the line above said why
    try:
        rt.get_redis().ping()
    except Exception:  # noqa: BLE001 - any failure to reach Redis means the same here
        typer.echo("无法等待分析（Redis 不可用）：条目已入库，将在分析进程启动后自动分析")
        raise typer.Exit(1) from None
    deadline = time.monotonic() + timeout
    while True:
        with rt.session() as s:
            left = s.scalar(select(func.count(Item.id)).where(Item.source_id.in_(source_ids),
                                                              Item.analysed_at.is_(None))) or 0
        if not left:
            typer.echo("本次入库条目已全部分析")
            return
        if time.monotonic() >= deadline:
            typer.echo(f"等待 {timeout} 秒后仍有 {left} 条未分析（分析进程是否在运行？）")
            raise typer.Exit(1)
        time.sleep(1)


@sources_app.command("load")
def sources_load(file: Annotated[Path, typer.Argument(help="信源 YAML 文件")],
                 config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """校验并载入信源 YAML（按 key 新增或更新，保留健康记录）。"""

    from .sources import load_sources_into_store

    rt = runtime_from(config, profile)
    typer.echo(f"已载入 {load_sources_into_store(rt, file)} 个信源：{file}")


@sources_app.command("list")
def sources_list(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """列出全部信源（请求头与 Cookie 不显示）。"""

    from .health import health_rows

    rt = runtime_from(config, profile)
    rows = health_rows(rt)
    for r in rows:
        typer.echo(f"{r['key']:24} {r['name']}  {r['kind']:8} {r['tier']:10} "
                   f"{'启用' if r['enabled'] else '停用'}  下次 {_fmt(r['next_run_at'], rt.settings.timezone)}")
    typer.echo(f"共 {len(rows)} 个信源")


@sources_app.command("check")
def sources_check(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """信源健康表：最近成功、最近错误、连续失败、空跑次数；有异常信源时退出码为 1。"""
    from rich.console import Console
    from rich.table import Table

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
                      _fmt(r["last_success_at"], rt.settings.timezone), str(r["consecutive_failures"]), str(r["empty_runs"]),
                      str(r["last_item_count"]), (r["last_error"] or "-")[:80])
    Console(width=200).print(table)
    typer.echo(f"共 {len(rows)} 个信源，异常 {bad} 个")
    if bad:
        raise typer.Exit(1)


@sources_app.command("try")
def sources_try(url: Annotated[str, typer.Argument(help="要试采的网址（栏目页、订阅源、站点地图、JSON 接口或热榜）")],
                key: Annotated[str, typer.Option(help="信源 key（默认取自域名）")] = "",
                name: Annotated[str, typer.Option(help="信源名称（默认取自域名）")] = "",
                save: Annotated[Path | None, typer.Option("--save", help="把信源条目追加到这个信源 YAML 文件")] = None,
                config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """试采一个网址：判断信源类型，显示将抽取到的内容与两篇文章，建议选择器，打印或保存信源条目。"""
    import yaml

    from .exceptions import CrawlError
    from .trial import TrialError, try_url

    rt = runtime_from(config, profile)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request, not the administrator's business
    try:
        trial = try_url(url, rt.settings, rt.now(), key, name)
    except TrialError as exc:
        raise CrawlError(str(exc)) from None
    kinds = {"feed": "订阅源", "listing": "列表页", "sitemap": "站点地图", "json_api": "JSON 接口", "hotlist": "热榜"}
    typer.echo(f"类型：{kinds.get(trial.kind, trial.kind)}（{trial.kind}）")
    for n, p in enumerate(trial.previews, 1):
        typer.echo(f"[{n}] 标题：{p['title'] or '-'}\n    时间：{p['time'] or '-'}  来源：{p['source_unit'] or '-'}\n"
                   f"    网址：{p['url'] or '-'}\n    正文：{p['text'] or '-'}")
    for note in trial.notes:
        typer.echo(f"提示：{note}")
    text = yaml.safe_dump({"sources": [trial.entry]}, allow_unicode=True, sort_keys=False)
    if save is None:
        typer.echo(text)
        return
    _append_source(save, trial.entry)
    typer.echo(f"已写入 {save}（用 yuqing sources load {save} 载入）")


def _append_source(path: Path, entry: dict[str, Any]) -> None:
    """Add (or replace, by key) the entry in a sources YAML file, validated as the loader would."""
    import yaml

    from .exceptions import CrawlError
    from .sources import validate_sources

    data: dict[str, Any] = {"sources": []}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict) or not isinstance(loaded.get("sources", []), list):
            raise CrawlError(f"{path} 不是信源 YAML（顶层应为 sources: 列表）")
        data = loaded
    data["sources"] = [s for s in data.get("sources") or [] if s.get("key") != entry["key"]] + [entry]
    validate_sources(data["sources"], str(path))
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

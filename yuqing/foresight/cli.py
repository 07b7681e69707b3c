"""`yuqing foresee`: 舆情风险评估 of a draft policy or measure before it is issued, its 解读回应预案,
the final plan (定稿) and the 评估 after release."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yuqing.cli_options import ConfigOpt, ProfileOpt, runtime_from

if TYPE_CHECKING:
    from yuqing.runtime import Runtime

# Like every subsystem's cli: the store, jieba and scikit-learn load inside the commands, so
# `yuqing --help` stays fast.
ByOpt = Annotated[str | None, typer.Option("--by", help="评估人（默认当前系统用户）")]

foresee_app = typer.Typer(help="事前研判：草案的舆情风险评估、解读回应预案与出台后复盘")


def register(app: typer.Typer) -> None:
    app.add_typer(foresee_app, name="foresee")


def _runtime(config: Path | None, profile: str | None) -> Runtime:
    from sqlalchemy import inspect

    from .exceptions import StoreNotReady

    rt = runtime_from(config, profile)
    if not inspect(rt.engine).has_table("assessments"):
        raise StoreNotReady(f"数据库 {rt.settings.sqlalchemy_url} 尚未初始化或版本过旧（缺少风险评估表）")
    return rt


@foresee_app.callback(invoke_without_command=True)
def foresee(ctx: typer.Context,
            file: Annotated[Path | None, typer.Option("--file", "-f", help="草案文件（文本、YAML 或 JSON，格式见 README）")] = None,
            update: Annotated[int | None, typer.Option("--update", help="作为已有评估（编号）的新一稿")] = None,
            out: Annotated[Path | None, typer.Option("--out", "-o", help="预案 DOCX 路径（默认 data_dir/foresight/）")] = None,
            by: ByOpt = None, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """评估草案的舆情风险（相似历史事件、风险及理由、预计关切、回应主体），保存一稿并写出解读回应预案 DOCX。"""
    if ctx.invoked_subcommand is not None:
        return
    if file is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from .draft import load_draft
    from .service import assess_and_record
    from .text import render_text

    draft = load_draft(file)
    rt = _runtime(config, profile)
    done = assess_and_record(rt, draft, by or getpass.getuser(), update, out)
    typer.echo(render_text(done.foresight))
    typer.echo(f"\n已保存：风险评估 #{done.assessment_id} 第 {done.number} 稿（{done.by}）；解读回应预案：{done.plan_path}")
    for change in done.changes:
        typer.echo(f"  较上一稿：{change}")


@foresee_app.command("list")
def list_(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """列出风险评估：编号、状态、稿数、风险等级、关注期。"""
    from yuqing.clock import fmt
    from yuqing.models import AssessmentState

    from .records import listing

    rt = _runtime(config, profile)
    with rt.session() as s:
        rows = listing(s)
        if not rows:
            typer.echo("尚无风险评估")
        for a in rows:
            latest = a.revisions[-1].result if a.revisions else {}
            watch = f"关注 {fmt(a.watch_starts_at, rt.settings.timezone)} 至 {fmt(a.watch_ends_at, rt.settings.timezone)}" \
                if a.watch_starts_at else "未定出台日期"
            typer.echo(f"#{a.id} 【{AssessmentState(a.state).label}】{a.title}：{len(a.revisions)} 稿，"
                       f"风险{latest.get('grade', '')}，{watch}")


@foresee_app.command("show")
def show(assessment_id: Annotated[int, typer.Argument(help="评估编号")],
         config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """显示一项评估的各稿（评估人、时间、改动）、定稿与复盘结论。"""
    from yuqing.clock import fmt
    from yuqing.models import AssessmentState

    from .records import get

    rt = _runtime(config, profile)
    tz = rt.settings.timezone
    with rt.session() as s:
        a = get(s, assessment_id)
        typer.echo(f"风险评估 #{a.id}《{a.title}》：{AssessmentState(a.state).label}；{fmt(a.created_at, tz)} 由 {a.created_by} 创建")
        for r in a.revisions:
            final = "（定稿）" if a.final_revision == r.number else ""
            typer.echo(f"第 {r.number} 稿{final}：{fmt(r.at, tz)} {r.by} 评估，风险{r.result.get('grade', '')}；预案 {r.plan_path}")
            for change in r.changes:
                typer.echo(f"  改动：{change}")
        if a.final_revision:
            typer.echo(f"定稿：第 {a.final_revision} 稿，{fmt(a.finalised_at, tz)} 由 {a.finalised_by} 确定")
        if a.review:
            typer.echo(f"复盘（{fmt(a.reviewed_at, tz)}）：{a.review.get('summary', '')}")


@foresee_app.command("final")
def final(assessment_id: Annotated[int, typer.Argument(help="评估编号")],
          revision: Annotated[int | None, typer.Option("--revision", help="定为第几稿（默认最新一稿）")] = None,
          by: ByOpt = None, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """把一稿定为最终预案（定稿），记入操作日志。"""
    from .records import finalise

    rt = _runtime(config, profile)
    with rt.session() as s:
        a = finalise(s, assessment_id, by or getpass.getuser(), rt.now(), revision)
        typer.echo(f"风险评估 #{a.id} 已定稿：第 {a.final_revision} 稿")


@foresee_app.command("review")
def review_cmd(assessment_id: Annotated[int, typer.Argument(help="评估编号")],
               now: Annotated[bool, typer.Option("--now", help="关注期未满也立即复盘")] = False,
               by: ByOpt = None, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """出台后复盘：对照预判，统计关注期内的帖文量、达到的等级、关切是否出现、回应是否按时。"""
    from yuqing.clock import fmt, utc
    from yuqing.exceptions import YuqingError

    from .records import get
    from .watch import review

    rt = _runtime(config, profile)
    with rt.session() as s:
        a = get(s, assessment_id)
        if a.watch_ends_at is None:
            raise YuqingError(f"风险评估 #{a.id} 没有出台日期，无法确定关注期；请以 --update 提交写明 date 的新一稿")
        if utc(a.watch_ends_at) > rt.now() and not now:
            raise YuqingError(f"风险评估 #{a.id} 的关注期至 {fmt(a.watch_ends_at, rt.settings.timezone)} 结束，尚未到复盘时间")
        result = review(s, a, rt.now(), by or getpass.getuser())
    typer.echo(result["summary"])

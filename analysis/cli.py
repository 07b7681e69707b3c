"""Command-line commands of yuqing.analysis. Keep heavy imports inside the command functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yuqing.cli_options import runtime_from

model_app = typer.Typer(help="研判模型：训练、再训练、检验", no_args_is_help=True)
DEFAULT_CORPORA = Path("/work/shared/corpora")


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    app.command("score")(score)
    app.add_typer(model_app, name="model")


def score(
    profile: Annotated[str, typer.Option("--profile", help="画像名称或 YAML 路径")],
    input: Annotated[Path | None, typer.Option("--input", help="JSON Lines 输入（默认标准输入）")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="JSON Lines 输出（默认标准输出）")] = None,
) -> None:
    """逐行研判 JSON Lines：每行输出一条结果，顺序不变。

    坏行（非 JSON、缺少 id 或 text）输出 {"id", "error", "line"} 并继续处理其余各行，
    结束时退出码为 1 并在标准错误上汇总坏行数。
    """
    import sys

    from yuqing.profile import load_profile

    from .stream import score_stream

    prof = load_profile(profile)
    # Bytes, decoded line by line in score_stream: one line of invalid UTF-8 is that line's
    # error, not a crash that loses every line after it.
    src = input.open("rb") if input else sys.stdin.buffer
    dst = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        bad = score_stream(prof, src, dst, progress=sys.stderr.isatty())
    finally:
        if input:
            src.close()
        if output:
            dst.close()
    if bad:
        typer.echo(f"共 {bad} 行无法研判（见输出中的 error 字段）", err=True)
        raise typer.Exit(1)


@model_app.command("train")
def train(
    corpora: Annotated[Path, typer.Option("--corpora", help="语料目录")] = DEFAULT_CORPORA,
    out: Annotated[Path | None, typer.Option("--out", help="模型输出目录（默认 analysis/models）")] = None,
    version: Annotated[str, typer.Option("--version", help="模型版本号")] = "2026.1",
) -> None:
    """用语料训练职责、情绪、谣言模型（交叉验证），并写出模型说明 MODEL_CARD.md。"""
    from .corpora import check_root
    from .train import train_all

    check_root(corpora)
    out = out or Path(__file__).parent / "models"
    r = train_all(corpora, out, version, lambda m: typer.echo(m, err=True))
    e = r["emergency"]
    typer.echo(f"职责模型 F1 {e['f1']:.3f}（关键词表 {e['keyword_f1']:.3f}），阈值 {e['threshold']}；"
               f"情绪 F1 {r['emotion']['f1']:.3f}；谣言 F1 {r['rumor']['f1']:.3f}；写入 {out}")


@model_app.command("retrain")
def retrain(
    corpora: Annotated[Path, typer.Option("--corpora", help="语料目录")] = DEFAULT_CORPORA,
    config: Annotated[Path | None, typer.Option("--config", help="配置文件")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="画像")] = None,
) -> None:
    """把值班员的审核标注并入职责模型；留出数据上不变差才启用新版本。"""

    from .corpora import check_root
    from .retrain import retrain as run

    check_root(corpora)
    rt = runtime_from(config, profile)
    r = run(rt, corpora, rt.now())
    verdict = "已启用" if r.promoted else "未启用（留出数据上变差）"
    typer.echo(f"新版本 {r.version}：并入 {r.labels} 条标注；留出 F1 当前 {r.current_f1:.3f} → "
               f"新 {r.candidate_f1:.3f}，{verdict}")


@model_app.command("evaluate")
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="本单位标注的 JSON Lines：id, text, title?, remit?, risk?, rumor?")],
    profile: Annotated[str, typer.Option("--profile", help="画像名称或 YAML 路径")] = "zezhou-emergency",
    output: Annotated[Path | None, typer.Option("--output", help="另存结果为 JSON")] = None,
) -> None:
    """用本单位标注的帖文检验内置模型：按标注项、按体裁输出精确率、召回率、F1、AUC 和混淆计数。

    坏行（非 JSON、缺少 id 或 text、标注值不合法）在标准错误上报出行号，其余各行照常检验；
    有坏行时退出码为 1。
    """
    import json

    from yuqing.exceptions import YuqingError
    from yuqing.profile import load_profile

    from . import evaluate as ev

    prof = load_profile(profile)
    try:
        with labels.open("rb") as fh:
            posts, errors = ev.read(fh)
    except (FileNotFoundError, IsADirectoryError):
        raise YuqingError(f"{labels}: 标注文件不存在") from None
    for error in errors:
        typer.echo(f"{labels}: {error}", err=True)
    if not posts:
        typer.echo(f"{labels}: 没有可检验的标注行", err=True)
        raise typer.Exit(1)
    results = ev.evaluate(prof, posts)
    typer.echo(f"检验 {len(posts)} 条标注（画像 {prof.bureau.name}）\n")
    typer.echo(ev.report(results))
    if output:
        output.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if errors:
        typer.echo(f"共 {len(errors)} 行无法检验（见上方错误）", err=True)
        raise typer.Exit(1)

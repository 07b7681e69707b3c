"""`yuqing foresee`: 舆情风险评估 of a draft policy or measure before it is issued."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Like every subsystem's cli: the store, jieba and scikit-learn load inside the commands, so
# `yuqing --help` stays fast, and yuqing.cli (which imports this module) is not imported back.
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML 配置文件")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="单位画像名称或 YAML 路径")]
foresee_app = typer.Typer(help="事前研判：草案的舆情风险评估、解读回应预案与出台后复盘")


def register(app: typer.Typer) -> None:
    app.add_typer(foresee_app, name="foresee")


@foresee_app.callback(invoke_without_command=True)
def foresee(ctx: typer.Context,
            file: Annotated[Path | None, typer.Option("--file", "-f", help="草案文件（文本、YAML 或 JSON，格式见 README）")] = None,
            config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """评估草案的舆情风险：相似历史事件、风险及理由、预计关切、回应主体。"""
    if ctx.invoked_subcommand is not None:
        return
    if file is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from yuqing.cli import runtime_from

    from .assess import assess
    from .draft import load_draft
    from .text import render_text

    draft = load_draft(file)
    rt = runtime_from(config, profile)
    with rt.session() as s:
        result = assess(s, draft, rt.profile)
    typer.echo(render_text(result))

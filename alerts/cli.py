"""Command-line commands of yuqing.alerts. Keep heavy imports inside the command functions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from yuqing.cli_options import ConfigOpt, ProfileOpt, runtime_from

digest_app = typer.Typer(no_args_is_help=True, help="舆情日报 / 要情专报")
silence_app = typer.Typer(no_args_is_help=True, help="预警静默（值班监测员屏蔽某事件或某类事件）")


@digest_app.command("send")
def digest_send(config: ConfigOpt = None, profile: ProfileOpt = None,
                kind: Annotated[str, typer.Option(help="daily（舆情日报）或 major（要情专报）")] = "daily",
                now: Annotated[bool, typer.Option("--now", help="立即生成并发送（不等到画像规定的时间）")] = False,
                ) -> None:
    """生成、归档并发送简报；不加 --now 时只发送已到时间且尚未发送的日报。"""

    from .digests import send_daily_now, send_due, send_major_now
    from .exceptions import AlertsError

    rt = runtime_from(config, profile)
    if kind not in ("daily", "major"):
        raise AlertsError(f"--kind {kind!r} 无效，应为 daily 或 major")
    if kind == "major" and not now:
        raise AlertsError("要情专报在事件达到重大时自动发送；手动发送请加 --now")
    if now:
        made = send_daily_now(rt) if kind == "daily" else send_major_now(rt)
        keys = [made] if made else []
    else:
        keys = send_due(rt)
    typer.echo("已生成: " + "、".join(keys) if keys else "没有到期未发的简报")


def _parse_when(value: str, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    from .exceptions import SilenceError

    try:
        when = datetime.strptime(value, "%Y-%m-%d %H:%M")
    except ValueError:
        raise SilenceError(f"--until {value!r} 格式应为 \"YYYY-MM-DD HH:MM\"（{tz} 时间）") from None
    return when.replace(tzinfo=ZoneInfo(tz))


@silence_app.command("add")
def silence_add(comment: Annotated[str, typer.Option("--comment", "-m", help="静默原因（必填）")],
                config: ConfigOpt = None, profile: ProfileOpt = None,
                event: Annotated[int | None, typer.Option(help="静默的事件 id")] = None,
                match: Annotated[list[str] | None, typer.Option(
                    help="匹配条件 key=value，可重复；key 为 level、category、topic、place、keyword")] = None,
                hours: Annotated[float | None, typer.Option(help="静默时长（小时）")] = None,
                until: Annotated[str | None, typer.Option(help="静默截止时间 \"YYYY-MM-DD HH:MM\"")] = None,
                by: Annotated[str, typer.Option(help="操作人")] = "cli") -> None:
    """新增静默：屏蔽一个事件或一类事件的预警，到时自动失效。"""
    from datetime import timedelta

    from yuqing.clock import fmt

    from .actions import silence
    from .exceptions import SilenceError

    rt = runtime_from(config, profile)
    if (hours is None) == (until is None):
        raise SilenceError("请给出 --hours 或 --until 之一")
    ends = rt.now() + timedelta(hours=hours) if hours is not None else _parse_when(until, rt.settings.timezone)  # type: ignore[arg-type]
    matchers: dict[str, list[str]] = {}
    for pair in match or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SilenceError(f"--match {pair!r} 格式应为 key=value")
        matchers.setdefault(key.strip(), []).append(value.strip())
    row = silence(rt, by, comment, ends, event_id=event, matchers=matchers or None)
    typer.echo(f"静默 #{row.id} 已生效，至 {fmt(row.ends_at, rt.settings.timezone)}")


@silence_app.command("list")
def silence_list(config: ConfigOpt = None, profile: ProfileOpt = None,
                 all_: Annotated[bool, typer.Option("--all", help="包括已结束的静默")] = False) -> None:
    """列出静默（默认只列生效中的）。"""
    from sqlalchemy import select

    from yuqing.clock import fmt
    from yuqing.models import Silence

    rt = runtime_from(config, profile)
    now = rt.now()
    with rt.session() as s:
        query = select(Silence).order_by(Silence.id)
        if not all_:
            query = query.where(Silence.ends_at > now)
        rows = s.scalars(query).all()
        if not rows:
            typer.echo("没有生效中的静默" if not all_ else "没有静默记录")
        for r in rows:
            what = f"事件 #{r.event_id}" if r.event_id else " ".join(f"{k}={','.join(v)}" for k, v in r.matchers.items())
            state = "生效中" if r.ends_at > now else "已结束"
            typer.echo(f"#{r.id}\t{state}\t{what}\t{fmt(r.starts_at, rt.settings.timezone)} 至 {fmt(r.ends_at, rt.settings.timezone)}\t{r.created_by}：{r.comment}")


@silence_app.command("expire")
def silence_expire(silence_id: Annotated[int, typer.Argument(help="静默 id")],
                   config: ConfigOpt = None, profile: ProfileOpt = None,
                   by: Annotated[str, typer.Option(help="操作人")] = "cli") -> None:
    """立即结束一个静默。"""

    from .actions import expire_silence

    rt = runtime_from(config, profile)
    expire_silence(rt, silence_id, by)
    typer.echo(f"静默 #{silence_id} 已结束")


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    app.add_typer(digest_app, name="digest")
    app.add_typer(silence_app, name="silence")

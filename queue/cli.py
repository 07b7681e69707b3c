"""Command-line commands of yuqing.queue: `yuqing route test` and `yuqing tickets list`.

Keep heavy imports inside the command functions.
"""

from __future__ import annotations

from typing import Annotated

import typer

from yuqing.cli_options import ConfigOpt, ProfileOpt, runtime_from
from yuqing.documents.dates import spoken
from yuqing.profile import Profile
from yuqing.routing import Facts

route_app = typer.Typer(no_args_is_help=True, help="报送路由（仿 Alertmanager 路由树）")
tickets_app = typer.Typer(no_args_is_help=True, help="回应工单")


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    app.add_typer(route_app, name="route")
    app.add_typer(tickets_app, name="tickets")


@route_app.command("test")
def route_test(
    level: Annotated[str, typer.Option(help="等级：一般、较大、重大、特别重大")],
    category: Annotated[list[str] | None, typer.Option(help="类别，可重复，如 false_information")] = None,
    place: Annotated[list[str] | None, typer.Option(help="地名或区划代码，可重复")] = None,
    tier: Annotated[list[str] | None, typer.Option(help="信源层级，可重复，如 central")] = None,
    in_remit: Annotated[bool, typer.Option("--in-remit/--not-in-remit", help="是否属本局职责")] = True,
    rumor: Annotated[bool, typer.Option("--rumor/--no-rumor", help="是否疑似谣言")] = False,
    watch_word: Annotated[list[str] | None, typer.Option(help="命中的关注词，可重复")] = None,
    spans_sections: Annotated[bool, typer.Option("--spans-sections/--single-section", help="是否跨科室")] = False,
    accusation: Annotated[list[str] | None, typer.Option(help="指控类型，可重复，如 corruption")] = None,
    complaint: Annotated[bool, typer.Option("--complaint/--no-complaint", help="是否投诉/诉求")] = False,
    ticket: Annotated[bool, typer.Option("--ticket/--no-ticket", help="事件是否已开回应工单（试算抑制规则）")] = False,
    config: ConfigOpt = None, profile: ProfileOpt = None,
) -> None:
    """试算一条信息会报送到哪些部门、经由哪条路由，预警的分组时序，以及哪些通知被抑制。"""
    from yuqing.levels import Level
    from yuqing.routing import route, timings

    from .exceptions import RouteTestError

    rt = runtime_from(config, profile, store=False)  # a dry run over the profile alone
    try:
        shown_level = Level.parse(level).value
    except ValueError as exc:
        raise RouteTestError(f"--level: {exc}") from None
    facts = Facts(level=shown_level, category=category or [], place=place or [], tier=tier or [],
                  in_remit=in_remit, rumor=rumor, watch_word=watch_word or [], spans_sections=spans_sections,
                  accusation=accusation or [], complaint=complaint)
    matched = route(rt.profile, facts)
    if not matched:
        typer.echo("不报送任何部门（没有路由指定接收部门）")
    for key, match in matched:
        department = rt.profile.department(key)
        channels = "、".join(f"{c.type}:{c.to}" for c in department.channels)
        typer.echo(f"{department.name}（{key}） ← {match.description}  [{channels}]")
    pace = timings(rt.profile, facts)
    typer.echo(f"预警时序：首次通知等待 {pace.group_wait_seconds} 秒，更新至少相隔 {pace.group_interval_seconds} 秒；"
               "等级上升立即通知")
    typer.echo(_inhibition_line(rt.profile, facts, ticket))


def _inhibition_line(profile: Profile, facts: Facts, ticket: bool) -> str:
    """Which of the alert's notices the profile's inhibit_rules stop, for this event with or
    without a ticket (the same :func:`check` the alerts use, over a made-up source)."""
    from yuqing.alerts.inhibition import check
    from yuqing.profile import NOTICE_KINDS

    labels = {"event": ["0"], "level": [facts.level], "category": facts.category, "place": facts.place}
    found = [("工单", {"type": ["ticket"], "state": ["open"], **labels})] if ticket else []
    said = []
    for kind, name in NOTICE_KINDS.items():
        held = check(profile.alerts.inhibit_rules, {"type": ["alert"], "notice": [kind], "state": ["firing"],
                                                    **labels}, found)
        said.append(f"{name}{'（被 ' + held.rule + ' 抑制）' if held else '发出'}")
    return f"{'已开工单' if ticket else '未开工单'}时：" + "；".join(said)


@tickets_app.command("list")
def tickets_list(config: ConfigOpt = None, profile: ProfileOpt = None,
                 all_: Annotated[bool, typer.Option("--all", help="包括已关闭的工单")] = False) -> None:
    """列出未关闭的工单及其时限（北京时间）。"""
    from sqlalchemy import select

    from yuqing.clock import fmt
    from yuqing.models import Deadline, DeadlineKind, Ticket, TicketState

    rt = runtime_from(config, profile)
    zone, now = rt.settings.timezone, rt.now()
    with rt.session() as s:
        q = select(Ticket).order_by(Ticket.detected_at)
        if not all_:
            q = q.where(Ticket.state != TicketState.CLOSED)
        rows = list(s.scalars(q))
        if not rows:
            typer.echo("没有未关闭的工单")
            return
        for t in rows:
            paused = f"，计时暂停自 {fmt(t.paused_since, zone)}" if t.paused_since else ""
            typer.echo(f"#{t.id} [{TicketState(t.state).label}] {t.level} {t.title}")
            typer.echo(f"    回应主体：{t.section_name or '未分派'}；首次发现 {fmt(t.detected_at, zone)}{paused}")
            for d in s.scalars(select(Deadline).where(Deadline.ticket_id == t.id).order_by(Deadline.due_at)):
                label = DeadlineKind(d.kind).label + (f" 第{d.seq}次" if d.seq else "")
                if d.met_at:
                    state = f"已于 {fmt(d.met_at, zone)} 完成"
                elif d.cancelled_at:
                    state = "已结束"
                elif d.breached_at or d.due_at <= now:
                    state = "已逾期"
                else:
                    state = f"剩余 {spoken(d.due_at - now)}"
                typer.echo(f"    {label}：{fmt(d.due_at, zone)} 截止，{state}")

"""Command-line commands of yuqing.dashboards. Keep heavy imports inside the command functions."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from yuqing.cli_options import ConfigOpt, ProfileOpt, runtime_from


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
    user_app = typer.Typer(no_args_is_help=True, help="账号管理")
    app.add_typer(user_app, name="user")
    search_app = typer.Typer(no_args_is_help=True, help="全文检索索引")
    app.add_typer(search_app, name="search")
    report_app = typer.Typer(no_args_is_help=True, help="事后回应报告")
    app.add_typer(report_app, name="report")

    @user_app.command("add")
    def user_add(
        username: Annotated[str, typer.Argument(help="登录用户名")],
        role: Annotated[str, typer.Option(help="monitor 值班监测员 | leader 领导 | liaison 部门联络员 | admin 管理员")],
        department: Annotated[str, typer.Option("--department", help="部门联络员所属部门 key（见画像 departments）")] = "",
        name: Annotated[str, typer.Option("--name", help="显示姓名")] = "",
        password: Annotated[str | None, typer.Option(help="密码（不给则提示输入）")] = None,
        config: ConfigOpt = None, profile: ProfileOpt = None,
    ) -> None:
        """创建账号（密码以 argon2 保存）。"""

        from .auth import create_user

        rt = runtime_from(config, profile)
        if password is None:
            password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
        user_id = create_user(rt, username, password, role, name, department, by="cli")
        typer.echo(f"已创建账号 {username}（{role}，id {user_id}）")

    @user_app.command("list")
    def user_list(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
        """列出账号。"""
        from sqlalchemy import select

        from yuqing.models import User

        rt = runtime_from(config, profile)
        with rt.session() as s:
            for u in s.scalars(select(User).order_by(User.username)):
                state = "" if u.active else "（停用）"
                typer.echo(f"{u.username:20} {u.role:8} {u.department_key:12} {u.display_name}{state}")

    @app.command()
    def web(config: ConfigOpt = None, profile: ProfileOpt = None,
            host: Annotated[str | None, typer.Option(help="监听地址（默认 settings.web_host）")] = None,
            port: Annotated[int | None, typer.Option(help="端口（默认 settings.web_port）")] = None,
            workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn 工作进程数（多核时可设为核数）")] = 1,
            ) -> None:
        """启动 Web 服务（uvicorn）。"""
        import os

        import uvicorn

        from .app import create_app

        rt = runtime_from(config, profile)
        options: dict[str, Any] = {"host": host or rt.settings.web_host, "port": rt.settings.web_port if port is None else port,
                   "log_level": rt.settings.log_level.lower(), "proxy_headers": False}
        if workers == 1:
            uvicorn.run(create_app(rt), **options)
            return
        # Worker processes build their own app from the same settings, passed on by environment.
        if config:
            os.environ["YUQING_CONFIG"] = str(config)
        if profile:
            os.environ["YUQING_PROFILE"] = profile
        os.environ.setdefault("YUQING_SECRET_KEY", rt.settings.secret())
        uvicorn.run("yuqing.dashboards.app:app_from_environment", factory=True, workers=workers, **options)

    @search_app.command("reindex")
    def search_reindex(config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
        """为尚未索引或已更新的条目建立全文检索索引（结巴分词）。"""

        from .search import refresh_index

        rt = runtime_from(config, profile)
        typer.echo(f"已索引 {refresh_index(rt)} 条")

    @report_app.command("period")
    def report_period(start: Annotated[str, typer.Option("--from", help="统计起始日期，如 2026-01-01")],
                      end: Annotated[str, typer.Option("--to", help="统计截止日期（含），如 2026-06-30")],
                      config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
        """生成半年、全年回应关切统计（DOCX、PDF），写入 data_dir/reports。"""

        from .period import parse_day, write_period

        rt = runtime_from(config, profile)
        for path in write_period(rt, parse_day(start, "--from"), parse_day(end, "--to")):
            typer.echo(path)

    @report_app.command("build")
    def report_build(ticket_id: Annotated[int, typer.Argument(help="工单编号")],
                     config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
        """生成某工单的事后回应报告（HTML、DOCX、PDF），写入 data_dir/reports。"""

        from .reports import generate_report

        runtime_from(config, profile)
        for path in generate_report(ticket_id):
            typer.echo(path)

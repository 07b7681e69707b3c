"""Usage errors of the command line in one Chinese line.

Typer (0.29) bundles its own copy of click as ``typer._click``: its usage errors are not
``click.ClickException`` and print English ("Invalid value for '--port': Input should be a
valid integer"). Here each kind is said in Chinese, naming the command, the parameter, the
value given and what was expected, with where to look next.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any

from typer._click import exceptions as click_errors
from typer.exceptions import TyperException

from .validation import explain, given

UsageError = click_errors.UsageError
NoArgsIsHelpError = click_errors.NoArgsIsHelpError


def command_path(ctx: Any) -> str:
    """``yuqing report build`` whatever the program was started as (``python -m yuqing``)."""
    names: list[str] = []
    while ctx is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    names[-1] = "yuqing"
    return " ".join(reversed([n for n in names if n]))


def _param_name(param: Any) -> tuple[str, str]:
    """(kind, name): ``("选项", "--port")`` or ``("参数", "工单编号（TICKET_ID）")``."""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    if opts:
        return "选项", max(opts, key=len)
    name = str(getattr(param, "name", "") or "").upper()
    words = str(getattr(param, "help", "") or "")
    return "参数", f"{words}（{name}）" if words else name


def _bad_value(exc: Any, cmd: str) -> str:
    kind, name = _param_name(exc.param) if exc.param is not None else ("参数", "")
    cause = exc.__cause__
    errors = cause.errors() if hasattr(cause, "errors") else []
    if errors:
        err = errors[0]
        return f"{cmd} 的{kind} {name} 无效：{explain(err)}{given(err)}"
    text = str(exc.message)
    choice = re.match(r"(.+) is not one of (.+)\.$", text)
    if choice:
        return f"{cmd} 的{kind} {name} 无效：应为 {choice.group(2)} 之一（实际为 {choice.group(1)}）"
    missing = re.match(r"(?:File|Path|Directory) (.+) does not exist\.$", text)
    if missing:
        return f"{cmd} 的{kind} {name} 无效：{missing.group(1)} 不存在"
    return f"{cmd} 的{kind} {name} 无效：{text}"


def _unknown_command(exc: Any, cmd: str) -> str | None:
    found = re.match(r"No such command '(.+?)'\.", str(exc.message))
    if not found:
        return None
    name = found.group(1)
    commands = sorted(getattr(exc.ctx.command, "commands", {}) if exc.ctx else {})
    close = get_close_matches(name, commands, n=1)
    guess = f"，是否想用 {cmd} {close[0]}？" if close else ""
    return f"{cmd} 没有子命令 {name!r}{guess}（可用：{'、'.join(commands)}）"


def command_from_argv(root: Any, argv: list[str]) -> str:
    """The command named on the line, for errors raised before click made its context."""
    names, here = ["yuqing"], root
    for word in argv:
        commands = getattr(here, "commands", None)
        if not commands or word not in commands:
            break
        names.append(word)
        here = commands[word]
    return " ".join(names)


def usage_line(exc: UsageError, root: Any = None, argv: list[str] | None = None) -> str:
    """The one line printed for a usage error (without the 错误: prefix)."""
    if exc.ctx is not None:
        cmd = command_path(exc.ctx)
    else:
        cmd = command_from_argv(root, argv or []) if root is not None else "yuqing"
    help_hint = f"（运行 {cmd} --help 查看用法）"
    if isinstance(exc, click_errors.MissingParameter):
        kind, name = _param_name(exc.param) if exc.param is not None else ("参数", "")
        return f"{cmd} 缺少{kind} {name}{help_hint}"
    if isinstance(exc, click_errors.BadParameter):
        return _bad_value(exc, cmd) + help_hint
    if isinstance(exc, click_errors.NoSuchOption):
        close = f"，是否想用 {'、'.join(sorted(exc.possibilities))}？" if exc.possibilities else ""
        return f"{cmd} 没有选项 {exc.option_name}{close}{help_hint}"
    if isinstance(exc, click_errors.BadOptionUsage):
        return f"{cmd} 的选项 {exc.option_name} 用法不对：须跟一个值{help_hint}"
    unknown = _unknown_command(exc, cmd)
    if unknown:
        return unknown
    extra = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)$", str(exc.message))
    if extra:
        return f"{cmd} 多余的参数：{extra.group(1)}{help_hint}"
    return f"{cmd}: {exc.message}{help_hint}"


def is_usage_error(exc: BaseException) -> bool:
    return isinstance(exc, TyperException) and isinstance(exc, UsageError)

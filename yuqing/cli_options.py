"""What every `yuqing` command shares: the ``--config``/``--profile`` options and :func:`runtime_from`.

The root command line (yuqing/cli.py) and each subsystem's ``cli.register`` import them from
here, so a subsystem's commands need nothing from yuqing.cli, which imports them all.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .exceptions import NotInitialised

if TYPE_CHECKING:
    from .runtime import Runtime

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML 配置文件")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="单位画像名称或 YAML 路径")]


def runtime_from(config: Path | None = None, profile: str | None = None,
                 store: bool = True) -> Runtime:
    """Load settings and profile, install them as this process's runtime.

    With ``store`` (every command that reads or writes records) the database must have been
    made by ``yuqing init`` first: say so in one line rather than fail on "no such table" and
    leave an empty yuqing.db behind.
    """
    # local: `yuqing --help` and usage errors load no store, profile schema or Redis client.
    from .profile import load_profile
    from .runtime import Runtime, get_runtime, set_runtime
    from .settings import load_settings, secure_data_dir
    from .store import schema_ready

    settings = load_settings(config, profile=profile)
    if settings.data_dir.exists():  # a new one is made 0700 where it is first needed
        secure_data_dir(settings.data_dir)
    if store and not schema_ready(settings.sqlalchemy_url):
        raise NotInitialised()
    set_runtime(Runtime(settings=settings, profile=load_profile(settings.profile)))
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return get_runtime()

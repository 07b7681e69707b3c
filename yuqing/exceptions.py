"""Errors of the core: each names what was wrong and where, so the CLI can print one line."""


class YuqingError(Exception):
    """Base class; the command line prints ``str(error)`` and a hint, never a traceback."""

    hint: str = ""

    def __init__(self, message: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:  # a hint that fits this error rather than the class's default
            self.hint = hint


class SettingsError(YuqingError):
    """A setting from the environment or the TOML file is missing or invalid."""

    hint = "运行 `yuqing config check` 查看全部设置及其说明。"


class ProfileError(YuqingError):
    """A bureau profile (单位画像) file is invalid: names the file, the field and what was expected."""

    hint = "对照 profiles/zezhou-emergency.yaml 检查该字段。"


class Refused(YuqingError):
    """A rule of the domain refused what a user asked (拒绝办理): one Chinese sentence saying
    which rule and why. The workflows raise it (the response workflow's and the alerts' errors
    derive from it); the web app answers it with 422 in one handler, the CLI prints it."""


class NotFound(YuqingError):
    """A record asked for by id does not exist."""


class NotInitialised(YuqingError):
    """The database has no schema yet: every command but ``init`` needs it."""

    def __init__(self) -> None:
        super().__init__("数据库尚未初始化：先运行 yuqing init", hint="")

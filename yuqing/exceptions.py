"""Errors of the core: each names what was wrong and where, so the CLI can print one line."""


class YuqingError(Exception):
    """Base class; the command line prints ``str(error)`` and a hint, never a traceback."""

    hint: str = ""


class SettingsError(YuqingError):
    """A setting from the environment or the TOML file is missing or invalid."""

    hint = "运行 `yuqing config check` 查看全部设置及其说明。"


class ProfileError(YuqingError):
    """A bureau profile (单位画像) file is invalid: names the file, the field and what was expected."""

    hint = "对照 profiles/zezhou-emergency.yaml 检查该字段。"


class NotFound(YuqingError):
    """A record asked for by id does not exist."""

"""Errors of the foresight subsystem (事前研判): each names what was wrong and where."""

from yuqing.exceptions import YuqingError


class DraftError(YuqingError):
    """A draft (草案) cannot be assessed: empty, too long, not Chinese, a bad field."""

    hint = "草案格式见 README「事前研判」一节：可选的 --- 包围的 YAML 头（title、affected、date、channel），其后为正文。"


class StoreNotReady(YuqingError):
    """The database has no assessment tables yet."""

    hint = "先运行 `yuqing init` 创建或升级数据库。"

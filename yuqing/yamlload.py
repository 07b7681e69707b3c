"""YAML for configuration files (画像、信源) that cannot exhaust the machine.

``yaml.safe_load`` expands aliases: a 416-byte "billion laughs" file of nested ``&a [*a, *a ...]``
grew ``yuqing sources load`` to 22 GB. Configuration written by people has no need for anchors,
so aliases are refused outright (with the line they are on), and the file size is capped.
"""

from __future__ import annotations

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node

MAX_BYTES = 2 * 1024 * 1024  # the largest real profile is ~20 KB; sources files a few hundred KB


class AliasRefused(yaml.YAMLError):
    """An alias (``*name``) in a configuration file; ``problem``/``problem_mark`` as PyYAML's own errors."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        self.problem, self.problem_mark = problem, mark
        super().__init__(f"第 {mark.line + 1} 行第 {mark.column + 1} 列：{problem}")


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise AliasRefused(f"不支持 YAML 别名（*{event.anchor}），请把内容直接写出", event.start_mark)
        return super().compose_node(parent, index)


def load_config_yaml(text: str) -> object:
    """Parse a configuration file: ``yaml.YAMLError`` on bad YAML, an alias, or a file over 2 MB."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise yaml.YAMLError(f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，不像是配置文件")
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass

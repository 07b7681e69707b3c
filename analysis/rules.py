"""Rule evidence (规则): accusations, complaints, mobilisation, calls to spread, 61号 categories.

Word lists are data, kept short and explicit so a monitor can read why a rule fired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ACCUSATIONS = {
    "cover_up": ("瞒报", "谎报", "迟报", "漏报", "隐瞒", "捂盖子", "封锁消息", "不公布"),
    "inaction": ("不作为", "乱作为", "推诿", "没人管", "不管不问", "踢皮球", "敷衍", "渎职"),
    "corruption": ("腐败", "贪污", "受贿", "行贿", "贪官", "侵占", "截留", "挪用", "权钱交易", "回扣",
                   "中饱私囊", "发国难财"),
}
ACCUSATION_LABELS = {"cover_up": "瞒报", "inaction": "不作为", "corruption": "腐败"}
COMPLAINT = ("投诉", "举报", "维权", "讨说法", "要说法", "讨个说法", "求助", "诉求", "请求解决",
             "反映", "信访", "上访", "赔偿", "补偿", "欠薪")
MOBILISATION = ("聚集", "维权", "拉横幅", "横幅", "围堵", "静坐", "集体上访", "堵路", "游行", "示威",
                "围攻", "冲击", "打砸")
SPREAD = ("求扩散", "求转发", "请转发", "帮忙转", "扩散", "转起来", "让更多人知道", "求真相", "速转")
MORAL = ("丧尽天良", "冷血", "见死不救", "天理难容", "没有人性", "人性到底", "发国难财", "草菅人命", "良心")
POLICY = re.compile(r"(政策|新规|条例|规定|通知|文件).{0,12}(误读|曲解|谣传|不实|被解读|要收费|取消|强制)")
RUMOUR_CUES = ("听说", "据说", "网传", "传言", "求证", "疑似", "好像", "内部消息", "未经证实", "真的假的",
               "转发：", "爆料")
DEBUNK = ("辟谣", "不实", "谣言", "澄清", "假消息", "经核实")


@dataclass
class RuleHits:
    accusations: dict[str, list[str]] = field(default_factory=dict)
    complaint: list[str] = field(default_factory=list)
    mobilisation: list[str] = field(default_factory=list)
    spread: list[str] = field(default_factory=list)
    moral: list[str] = field(default_factory=list)
    policy: bool = False
    rumour_cues: list[str] = field(default_factory=list)
    debunk: list[str] = field(default_factory=list)


def _hits(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if w in text]


def find(text: str) -> RuleHits:
    hits = RuleHits()
    for key, words in ACCUSATIONS.items():
        found = _hits(text, words)
        if found:
            hits.accusations[key] = found
    hits.complaint = _hits(text, COMPLAINT)
    hits.mobilisation = _hits(text, MOBILISATION)
    hits.spread = _hits(text, SPREAD)
    hits.moral = _hits(text, MORAL)
    hits.policy = bool(POLICY.search(text))
    hits.rumour_cues = _hits(text, RUMOUR_CUES)
    hits.debunk = _hits(text, DEBUNK)
    return hits

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
# An authority refuting a claim (not 经核实, which as often confirms one).
REFUTE = ("辟谣", "不实", "谣言", "谣传", "澄清", "假消息", "造谣")
# Of the rumour cues, those that mark a claim nobody can check (the rumour pattern with 求扩散).
UNVERIFIABLE = ("听说", "据说", "网传", "传言", "内部消息", "未经证实", "爆料")
# Asking and telling, not rumour-making: questions, demands for disclosure, eyewitness reports.
QUESTIONS = re.compile(r"(?:到底|究竟|是不是|是否|为什么|为何|凭什么|怎么回事)[^。！!？?]{0,16}[？?]")
DISCLOSURE = ("公布真实", "公开信息", "要说法", "讨说法", "给个说法", "要求公开", "公布真相", "真实情况",
              "说清楚", "给个交代", "信息公开")
# A demand that the authorities publish what they know (什么时候公布遇难人数, 家属有权知道): none of
# CED's 2,372 posts has one, rumour or not. Wider questions (多少…？, 能不能) are not added: on CED
# they come from rumours as often as not (多少…？ 12 of 15, rhetorical), so they say nothing.
DISCLOSURE_DEMANDS = re.compile(r"公布[^。！!？?]{0,8}(?:人数|名单|原因|真相|结果|进展)|有权知道|知情权")
EYEWITNESS = ("我爱人", "我老公", "我丈夫", "我妻子", "我父亲", "我母亲", "我爸", "我妈", "我家", "我亲眼",
              "我看到", "我看见", "亲眼看到", "我们村", "我们小区", "我在现场", "就在我", "我刚", "我们厂",
              # what someone on the spot sees and hears, told as such
              "听到", "闻到", "一直往", "我们这边", "我这里", "窗外")


# What happened (事故类型), from the remit words an item names: two reports naming hazards of
# different kinds are two incidents (a mine flooding and a chemical-plant explosion).
HAZARDS = {
    "透水": "flooding_mine", "瓦斯": "gas", "冒顶": "roof_fall", "爆炸": "explosion", "烟花爆竹": "explosion",
    "泄漏": "leak", "火灾": "fire", "起火": "fire", "着火": "fire", "失火": "fire", "大火": "fire",
    "山火": "fire", "森林火灾": "fire", "草原火灾": "fire", "洪水": "flood", "山洪": "flood", "内涝": "flood",
    "暴雨": "flood", "决堤": "flood", "溃坝": "flood", "泥石流": "landslide", "滑坡": "landslide",
    "山体滑坡": "landslide", "崩塌": "landslide", "塌方": "collapse", "地面塌陷": "collapse",
    "地震": "earthquake", "车祸": "traffic", "交通事故": "traffic", "相撞": "traffic", "追尾": "traffic",
    "侧翻": "traffic", "翻车": "traffic", "坠崖": "traffic", "连环撞": "traffic", "冰雹": "hail",
    "雪灾": "snow", "干旱": "drought", "旱情": "drought",
}

def incident_rule(text: str, has_casualties: bool, usage_kinds: list[str], not_ours: list[str],
                  foreign: bool) -> bool:
    """The one positive rule kept (its precision on the corpora is in the model card): a kind of
    hazard named (透水, 爆炸 …) with casualties, no non-incident usage, no other bureau's word,
    no foreign place. It lifts short posts the model under-rates (泽州县巴公镇煤矿透水，3人死亡)."""
    return has_casualties and not usage_kinds and not not_ours and not foreign \
        and any(w in text for w in HAZARDS)


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
    questions: list[str] = field(default_factory=list)
    disclosure: list[str] = field(default_factory=list)
    eyewitness: list[str] = field(default_factory=list)


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
    hits.questions = [m.group() for m in QUESTIONS.finditer(text)] if ("？" in text or "?" in text) else []
    hits.disclosure = _hits(text, DISCLOSURE) + [m.group() for m in DISCLOSURE_DEMANDS.finditer(text)]
    hits.eyewitness = _hits(text, EYEWITNESS)
    return hits

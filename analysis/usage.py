"""非突发事件用法 (non-incident uses of incident words): sports, film, products, lists, history, chit-chat.

"足坛大地震：主帅下课", "电影《烈火英雄》定档", "抗震等级9级的新型建材", "盘点十大车祸电影",
"唐朝一场大火烧毁长安西市", "今天风大得像台风": each names a remit word and reports no incident.
The cues are data (short, explicit patterns a monitor can read). They feed the remit model as
features (``u:<kind>``), so training weighs them against everything else the text says, and
they give the reason a text was judged out of remit.
"""

from __future__ import annotations

import re
from functools import lru_cache

USAGE_LABELS = {
    "sports": "体育赛事", "entertainment": "影视娱乐", "product": "产品广告", "listicle": "盘点榜单",
    "history": "历史典故", "figurative": "比喻闲聊", "game": "游戏", "science": "科普知识",
    "violence": "恐袭战争刑案",
}
# Kinds that are not ours even with casualties (terrorism, war, crime: 公安 and others answer).
WITH_CASUALTIES = ("violence",)

CUES: dict[str, re.Pattern[str]] = {
    "sports": re.compile(
        r"足坛|球坛|体坛|中超|英超|西甲|意甲|德甲|法甲|欧冠|亚冠|NBA|CBA|主帅|主教练|下课|转会|球员|球迷|"
        r"进球|联赛|国足|世界杯|奥运|夺冠|比分|赛季|球队|绝杀|季后赛|总决赛|门将|前锋|后卫"),
    "entertainment": re.compile(
        r"电影|影片|《[^》]{1,20}》|定档|票房|上映|首映|预告片|剧组|电视剧|综艺|网剧|主演|导演|明星|"
        r"演员|粉丝|出道|偶像|歌手|演唱会|新歌|专辑|MV|杀青|角色|剧情|大片|番外|动漫|小说"),
    # Strict: car words (轿车, SUV) are in half the traffic-accident reports.
    "product": re.compile(r"抗震等级|防火等级|防水等级|新型建材|新品|售价|促销|优惠价|性价比|测评|评测|"
                          r"楼盘|开盘|旗舰店|广告|代言"),
    "listicle": re.compile(r"盘点|十大|细数|排行榜?|榜单|TOP\s?\d+|最[^，。]{0,6}的\d+|\d+大[^，。]{0,6}(?:事故|灾难|火灾|地震)"),
    "history": re.compile(
        r"唐朝|宋朝|明朝|清朝|元朝|汉朝|秦朝|古代|古人|历史上|史上|朝代|皇帝|王朝|年前的|世纪|"
        r"二战|一战|抗战时期|民国|周年|纪念日|回顾|往事"),
    "figurative": re.compile(
        r"像台风|像地震|像火灾|如同地震|大地震[:：]|地震[:：]|人事地震|官场地震|爆炸性|爆炸式|信息爆炸|"
        r"人气爆炸|爆表|炸裂|火爆|火了|大火的|走红|风暴|一场事故[！!]?|简直是一场|灾难片|心态崩|"
        r"情绪崩溃|脑洞|吐槽|哈哈|笑死|我的天"),
    "game": re.compile(r"游戏|玩家|手游|网游|电竞|副本|王者荣耀|英雄联盟|吃鸡|皮肤|段位"),
    "science": re.compile(r"宇宙|大爆炸理论|黑洞|星系|恒星|行星|科普|科学家发现|原理|实验室里|小知识"),
    "violence": re.compile(r"炸弹袭击|恐怖袭击|恐袭|自杀式|人肉炸弹|枪击|枪手|空袭|炮击|交火|武装分子|"
                           r"恐怖分子|爆炸案|凶杀|持刀|砍人|劫持|人质|战争|战机|导弹|军演|坠机|空难|航班"),
}


def detect(text: str) -> list[str]:
    """The non-incident kinds whose cues ``text`` names (``[]`` for most texts)."""
    return list(_detected(text))


@lru_cache(maxsize=1024)
def _detected(text: str) -> tuple[str, ...]:
    # Scoring asks three times per text (the shared features, the remit model's, the rules):
    # eleven patterns over the whole text each time were 5 % of scoring (bench/PROFILE.md).
    return tuple(kind for kind, pattern in CUES.items() if pattern.search(text))


CAP = 0.3  # the remit a non-incident use may keep (calibrated scale; 0.5 is the decision)


def rule_applies(kinds: list[str], has_casualties: bool, genre: str) -> bool:
    """The precise rule (its precision on the corpora is in the model card): a usage cue, no
    casualties, and not a news article (whose long text names such words in passing)."""
    if any(k in WITH_CASUALTIES for k in kinds):
        return True
    return bool(kinds) and not has_casualties and genre != "article"


def describe(kinds: list[str]) -> str:
    return "非突发事件用法：" + "、".join(USAGE_LABELS[k] for k in kinds)

"""The written rule for response-pressure labels (响应压力标注规则), applied to corpus posts.

``python -m yuqing.analysis.risk_labels`` draws the sample (a fixed hash of source and id) and
writes ``analysis/data/risk_labels.csv`` (``source,id,label,by``): ids only, the text stays in the
corpora. ``by`` is ``rule`` where the criteria below decided, ``review`` where the annotator read
the post and overrode it (``REVIEWED``). See ``analysis/data/README.md`` for the rule in prose.

The criteria are the issue's, written out as cue lists deliberately wider than the scorer's rule
words (so the learned model is not simply relearning its own inputs):
- **high**: casualties or danger to the public in China (the corpora have no county; a foreign
  incident is not ours), accusations against officials or agencies (瞒报, 不作为, 贪污 …), calls to
  gather, or to spread a warning, victims asking for help, panic claims;
- **low**: personal chatter, foreign news without a Chinese angle, entertainment and sports,
  routine notices, greetings and blessings;
- **medium**: the rest of public matters: complaints without urgency, incident reports without
  harm, criticism of policy, discussion.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from . import casualties, usage
from .corpora import Unit, ced_posts, emotion_posts, messages
from .places import foreign_places

DATA = Path(__file__).parent / "data"
SAMPLE = {"ced": 420, "emotion": 300, "message": 180}

ACCUSE = re.compile(r"瞒报|谎报|隐瞒|捂盖子|封锁消息|不作为|乱作为|推诿|踢皮球|没人管|不管不问|渎职|失职|"
                    r"贪污|腐败|受贿|行贿|贪官|侵占|截留|挪用|中饱私囊|官官相护|官商勾结|暴力执法|打人|"
                    r"强拆|强征|黑幕|包庇|徇私|草菅人命|滥用职权|克扣|私分|冒领|强行关押|非法拘禁|哪儿去了|去哪了|去哪儿了")
GATHER = re.compile(r"聚集|集体上访|堵路|拉横幅|游行|示威|静坐|围堵|冲击|打砸|罢工|讨薪|群体性")
HELP = re.compile(r"救救|求救|救命|求助|帮帮|走投无路|出不来|无家可归|无人救|没人救|求好心人|寻人|失联|"
                  r"为了我们的生存|恳请|求求")
PANIC = re.compile(r"恐慌|抢购|快跑|封城|有毒|剧毒|要地震|传染|爆发疫情|死人了|大批死亡|紧急扩散|速转|求扩散|"
                   r"求转发|扩散出去|转疯了|出大事了")
DANGER = re.compile(r"爆炸|起火|火灾|大火|坍塌|垮塌|泄漏|泄露|洪水|山洪|泥石流|滑坡|地震|车祸|相撞|透水|"
                    r"被困|遇难|身亡|死亡|重伤|中毒|溃坝|决堤|安全隐患|危房|倒塌|随时可能")
PUBLIC = re.compile(r"政府|官员|书记|县长|市长|局长|部门|警察|城管|公安|医院|学校|企业|公司|小区|物业|"
                    r"村民|居民|群众|业主|老百姓|网友|记者|工人|矿|厂|拆迁|补偿|政策|收费|污染")
ROUTINE = re.compile(r"通知|公告|温馨提示|提醒|预告|天气预报|生日快乐|晚安|早安|新年快乐|节日快乐|加油|"
                     r"祝福|感谢|谢谢|哈哈|好吃|好看|可爱|喜欢|想你|爱你")


def _foreign_only(text: str) -> bool:
    china = re.search(r"中国|我国|国内|全国|省|市|县|镇|村|北京|上海|同胞|华人|国人", text)
    return not china and any(name in text for name in foreign_places())


def rule_label(text: str) -> str:
    """high / medium / low by the written criteria."""
    if _foreign_only(text) or usage.detect(text) and not DANGER.search(text) and not PUBLIC.search(text):
        return "low"
    harm = casualties.parse(text).any or bool(DANGER.search(text))
    if ACCUSE.search(text) or GATHER.search(text) or HELP.search(text) or PANIC.search(text) and harm:
        return "high"
    if harm and PUBLIC.search(text):
        return "high"
    if PUBLIC.search(text) or harm:
        return "medium"
    if ROUTINE.search(text) or len(text) < 40:
        return "low"
    return "low"


def _drawn(unit: Unit) -> int:
    return int(hashlib.sha1(f"{unit.source}:{unit.id}".encode()).hexdigest(), 16)


def sample(root: Path) -> list[Unit]:
    out: list[Unit] = []
    for source, reader in (("ced", ced_posts), ("emotion", emotion_posts), ("message", messages)):
        units, seen = [], set()
        for u in reader(root):
            key = re.sub(r"\W+", "", u.text)[:60]
            if key and key not in seen:  # one copy of a repeated post
                seen.add(key)
                units.append(u)
        out += sorted(units, key=_drawn)[:SAMPLE[source]]
    return out


# The annotator's overrides after reading the posts the rule labelled (source, id) -> label.
REVIEWED: dict[tuple[str, str], str] = {
    ("ced", "200_A5uSov1Yq_3117257713"): "high",
    ("ced", "1895_yES2njm4f_1933565760"): "high",
    ("ced", "366_zte8Maki4_1943337341"): "low",
    ("ced", "507_zt2P62xRF_2358149763"): "low",
    ("ced", "1856_zFFv7xbzn_2329878550"): "low",
    ("ced", "643_yumCIcqcx_1394657835"): "low",
    ("ced", "4407_yFuzodDkK_1642591402"): "low",
    ("ced", "1469_yCJuVvRUG_2606630821"): "low",
    ("ced", "615_AAMy4kRlw_2091286391"): "medium",
    ("ced", "4056_zwzVpr2tP_1410448443"): "low",
    ("ced", "2463_znalD0CRd_3095471507"): "low",
    ("ced", "2886_yslThFWjD_1638781994"): "low",
    ("ced", "4822_iXqtlM_1689353722"): "low",
    ("ced", "1556_zcta8kC3d_2738894620"): "high",
    ("ced", "4693_zFoGPbF99_1314608344"): "low",
    ("ced", "2965_kwsdRj_1411845764"): "high",
    ("ced", "725_yxRnN3wE7_2130952741"): "high",
    ("ced", "3434_zeQM4FQo5_1642591402"): "low",
    ("ced", "2210_ywHFiehsb_2773535270"): "low",
    ("ced", "2285_z3YET9jvo_2034961660"): "low",
    ("ced", "4396_ykWJI4C8f_1660452532"): "low",
    ("ced", "3769_yprar6suT_1744475751"): "low",
    ("ced", "3836_z8kGYBYQc_2243807243"): "low",
    ("ced", "1088_zhi4Szb9u_2468364762"): "high",
    ("ced", "5114_yfGnS8FCg_1411956831"): "low",
    ("ced", "1949_yB41F2E3h_1574647051"): "high",
    ("ced", "3489_iRcg8M_1642634100"): "low",
    ("ced", "4529_zzLSq3T1Q_1053953693"): "low",
    ("ced", "682_A7Sfv36ik_2476458562"): "low",
    ("ced", "523_zw3S5qS3d_1639751947"): "high",
    ("ced", "1007_z6xXucI9F_2131611617"): "high",
    ("ced", "1377_zt0hh7n7C_2021331547"): "high",
    ("ced", "95_At1AvdjiV_1068991610"): "high",
    ("ced", "4379_kqcCn2_1314608344"): "low",
    ("ced", "3179_yvubNnqhp_1252373132"): "low",
    ("ced", "2300_z6mPffcxA_1310872334"): "high",
    ("ced", "4831_A3ZTpivp5_1847947425"): "low",
    ("ced", "2887_z1VtY7Q9g_1570668165"): "low",
    ("ced", "2621_iJ8wqY_1945139410"): "high",
    ("ced", "1779_yyjokx9o0_1574647051"): "high",
    ("ced", "4904_yhNU4ssEW_2672941931"): "low",
    ("ced", "3475_z0zti9Hla_1642591402"): "low",
    ("ced", "1814_z1Qjyras7_1650050254"): "high",
    ("ced", "4671_zd7d9vxae_1787920531"): "high",
    ("ced", "3516_zhV6Sg26U_1885695252"): "low",
    ("ced", "2912_kFFyF6_1663735900"): "low",
    ("ced", "1608_ywdyXhm0N_2054308403"): "low",
    ("emotion", "2207"): "low",
    ("emotion", "2685"): "low",
    ("emotion", "1132"): "low",
    ("emotion", "20549"): "medium",
    ("emotion", "7347"): "low",
    ("emotion", "20936"): "low",
    ("message", "445"): "medium",
    ("message", "150509"): "medium",
    ("message", "14699"): "medium",
    ("message", "102782"): "medium",
    ("message", "70294"): "medium",
    ("message", "124938"): "medium",
    ("message", "162961"): "medium",
    ("message", "170620"): "medium",
    ("message", "46465"): "medium",
    ("message", "110559"): "medium",
    ("message", "34961"): "medium",
    ("message", "4082"): "medium",
    ("message", "136857"): "medium",
    ("message", "157560"): "medium",
    ("message", "56262"): "medium",
    ("message", "13066"): "medium",
    ("message", "118104"): "medium",
    ("message", "169484"): "medium",
}


def label_all(root: Path) -> list[tuple[str, str, str, str]]:
    rows = []
    for u in sample(root):
        key = (u.source, u.id)
        if key in REVIEWED:
            rows.append((u.source, u.id, REVIEWED[key], "review"))
        else:
            rows.append((u.source, u.id, rule_label(u.text), "rule"))
    return rows


def write(root: Path) -> Path:
    path = DATA / "risk_labels.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "id", "label", "by"])
        w.writerows(label_all(root))
    return path


def read() -> dict[tuple[str, str], str]:
    with (DATA / "risk_labels.csv").open(encoding="utf-8") as fh:
        return {(r["source"], r["id"]): r["label"] for r in csv.DictReader(fh)}


if __name__ == "__main__":
    from .corpora import DEFAULT_CORPORA

    print(write(DEFAULT_CORPORA))

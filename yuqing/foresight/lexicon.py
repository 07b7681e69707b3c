"""Word families as data (词表): what in a draft touches the public's vital interests, and what
the public asked and complained about in past posts. Kept short and explicit so the office can
read why a reason or a concern appeared; changes here change no code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interest:
    """A kind of measure that touches vital interests (涉及群众切身利益), and its weight in the risk."""

    key: str
    label: str
    weight: float
    words: tuple[str, ...]


INTERESTS = (
    Interest("compensation", "征收补偿与安置", 0.45,
             ("补偿", "赔偿", "安置", "征收", "征地", "拆迁", "棚户区改造", "回迁")),
    Interest("closure", "关停、搬迁与取缔", 0.4,
             ("关停", "关闭", "停产", "停业", "搬迁", "迁移", "取缔", "拆除", "退出", "淘汰")),
    Interest("inspection", "安全检查与停产整顿", 0.4,
             ("停产整顿", "停业整顿", "责令停产", "查封", "扣押", "安全检查", "执法检查", "专项整治", "隐患排查")),
    Interest("fees", "收费与价格", 0.35,
             ("收费", "缴费", "费用", "涨价", "价格调整", "罚款", "押金", "保证金", "收取", "元/")),
    Interest("school_hospital", "学校与医院", 0.35,
             ("学校", "学生", "幼儿园", "入学", "学区", "校车", "医院", "就医", "医保", "卫生院")),
    Interest("livelihood", "就业、工资与补贴", 0.25,
             ("工资", "社保", "就业", "补贴", "津贴", "救助", "低保", "从业人员")),
    Interest("permits", "许可与审批", 0.2,
             ("许可", "审批", "备案", "证照", "资质", "办证", "准入", "年检")),
)


@dataclass(frozen=True)
class ConcernKind:
    """A public concern (网民关切) as a question, the cues that show it in a post, and the words
    of a draft sentence that speaks to it (the source of a grounded 回应口径)."""

    key: str
    question: str
    cues: tuple[str, ...]
    answers: tuple[str, ...]


CONCERNS = (
    ConcernKind("fairness", "补偿标准是否公平",
                ("补偿", "赔偿", "安置费", "补助标准", "标准太低", "不公平", "不合理", "差价", "少给"),
                ("补偿", "标准", "安置", "元", "评估")),
    ConcernKind("notice", "为何不提前公示、征求意见",
                ("公示", "征求意见", "不知情", "没有通知", "没通知", "事先", "提前告知", "听证", "暗箱"),
                ("公示", "征求意见", "公告", "听证", "告知", "公开")),
    ConcernKind("one_size", "执行是否一刀切",
                ("一刀切", "强制", "强行", "粗暴", "关停", "停产", "停业", "取缔", "不给时间"),
                ("分类", "过渡期", "期限", "整改", "帮扶", "逐步", "区别")),
    ConcernKind("fees", "收费是否合理、用途是否公开",
                ("收费", "乱收费", "费用", "涨价", "缴费", "罚款", "押金", "交钱"),
                ("收费", "费用", "标准", "元", "减免", "用于")),
    ConcernKind("safety", "安全隐患谁来管、何时整改",
                ("安全隐患", "隐患", "危险", "事故", "不安全", "塌", "倒塌"),
                ("安全", "隐患", "整改", "检查", "责任")),
    ConcernKind("school_hospital", "孩子上学、看病就医是否受影响",
                ("上学", "入学", "学校", "就医", "医院", "看病", "孩子", "学生"),
                ("学校", "学生", "入学", "医院", "就医")),
    ConcernKind("livelihood", "生计与就业如何保障",
                ("工资", "欠薪", "失业", "生计", "生活困难", "养家", "下岗", "社保"),
                ("就业", "工资", "社保", "补贴", "帮扶", "保障")),
    ConcernKind("procedure", "办事手续是否繁琐",
                ("审批", "许可", "办证", "手续", "跑了好几次", "来回跑", "多次跑"),
                ("办理", "审批", "许可", "材料", "窗口", "时限")),
    ConcernKind("environment", "环境与健康影响",
                ("污染", "噪音", "噪声", "粉尘", "异味", "排放", "扰民"),
                ("环境", "污染", "排放", "监测")),
    ConcernKind("transparency", "信息是否公开透明、有无隐瞒",
                ("瞒报", "隐瞒", "不公布", "真相", "不透明", "不公开", "捂盖子"),
                ("公开", "公布", "发布", "通报")),
    ConcernKind("accountability", "责任由谁承担、是否追责",
                ("追责", "问责", "谁负责", "负责人", "不作为", "推诿", "没人管"),
                ("责任", "负责", "追究", "监督")),
)

# Levels of past events as evidence of the risk (等级 → weight).
LEVEL_WEIGHT = {"一般": 0.1, "较大": 0.3, "重大": 0.5, "特别重大": 0.7}

# Affected group sizes: a number with one of these units counts people (户 counted as households).
GROUP_UNITS = ("人", "名", "户", "家", "所", "个村", "个小区", "个社区")

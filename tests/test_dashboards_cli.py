"""`yuqing user add` and `yuqing user list`: accounts from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from yuqing.cli import app
from yuqing.dashboards.auth import AccountError, verify_password
from yuqing.models import AuditEntry, User
from yuqing.runtime import set_runtime


@pytest.fixture
def env(runtime):  # type: ignore[no-untyped-def]
    s = runtime.settings
    yield {"YUQING_DATA_DIR": str(s.data_dir), "YUQING_DATABASE_URL": s.sqlalchemy_url,
           "YUQING_SECRET_KEY": "test-secret-key-for-signing-0123456789", "YUQING_REDIS_URL": s.redis_url}
    set_runtime(runtime)


def test_user_add_with_password_and_list(runtime, env) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    done = runner.invoke(app, ["user", "add", "xcb", "--role", "liaison", "--department", "propaganda",
                               "--name", "宣传部舆情科", "--password", "long-enough-1"], env=env)
    assert done.exit_code == 0, done.output
    assert "已创建账号 xcb" in done.output
    with runtime.session() as s:
        user = s.scalar(select(User).where(User.username == "xcb"))
        assert user.role == "liaison" and user.department_key == "propaganda"
        assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, "long-enough-1")
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.target_id == user.id)) == "user.create"
    listed = runner.invoke(app, ["user", "list"], env=env)
    assert "xcb" in listed.output and "propaganda" in listed.output


def test_user_add_prompts_for_the_password(runtime, env) -> None:  # type: ignore[no-untyped-def]
    done = CliRunner().invoke(app, ["user", "add", "duty", "--role", "monitor"], env=env,
                              input="long-enough-2\nlong-enough-2\n")
    assert done.exit_code == 0, done.output
    with runtime.session() as s:
        assert verify_password(s.scalar(select(User.password_hash).where(User.username == "duty")), "long-enough-2")


@pytest.mark.parametrize("args, message", [
    (["--role", "boss", "--password", "long-enough-1"], "未知角色 'boss'，应为 monitor、leader、liaison 或 admin"),
    (["--role", "liaison", "--password", "long-enough-1"], "部门联络员须指定所属部门（命令行用 --department），应为: propaganda"),
    (["--role", "monitor", "--password", "short"], "密码至少 12 个字符"),
    (["--role", "monitor", "--department", "police", "--password", "long-enough-1"], "只有部门联络员（liaison）需要 --department"),
])
def test_user_add_errors_are_clear(runtime, env, args, message) -> None:  # type: ignore[no-untyped-def]
    done = CliRunner().invoke(app, ["user", "add", "someone", *args], env=env)
    assert isinstance(done.exception, AccountError)
    assert str(done.exception).startswith(message)


def test_duplicate_username(runtime, env) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    runner.invoke(app, ["user", "add", "a1", "--role", "monitor", "--password", "long-enough-1"], env=env)
    done = runner.invoke(app, ["user", "add", "a1", "--role", "monitor", "--password", "long-enough-1"], env=env)
    assert str(done.exception) == "用户名 'a1' 已存在"

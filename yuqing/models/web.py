"""Users (账号), the audit log (操作日志) and review labels (研判标注)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Role(StrEnum):
    MONITOR = "monitor"    # 值班监测员
    LEADER = "leader"      # 领导
    LIAISON = "liaison"    # 部门联络员
    ADMIN = "admin"        # 管理员

    @property
    def label(self) -> str:
        return {"monitor": "值班监测员", "leader": "领导", "liaison": "部门联络员",
                "admin": "管理员"}[self.value]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    department_key: Mapped[str] = mapped_column(String(50), default="")  # liaisons only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Raised by logout and password changes: every session cookie issued before stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A password someone else chose (the admin page): to be changed at the first sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class Heartbeat(Base):
    """心跳: one row per checker (``status``, ``healthz``), written on each check to prove the store takes writes."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    at: Mapped[datetime]


class AuditEntry(Base):
    """操作日志: every action taken in the app or by the command line."""

    __tablename__ = "audit_log"
    # A record's history is read by its target (the alert's last notice, timelines): migration 0009.
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


class ReviewLabel(Base):
    """研判标注: the monitor's confirm / dismiss / level change, folded into retraining."""

    __tablename__ = "review_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(20))  # confirm | dismiss | level
    value: Mapped[str] = mapped_column(String(20), default="")  # the new level, for `level`
    text: Mapped[str] = mapped_column(Text, default="")  # the text judged, kept for retraining
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    used_in_model: Mapped[str] = mapped_column(String(50), default="")


class ItemSearch(Base):
    """全文检索词表: an item's title and text cut by jieba, kept for full-text search.

    Maintained by ``yuqing.dashboards.search`` (incrementally, from Items); on SQLite an FTS5
    index is built over it; on PostgreSQL a GIN index over the tokens as an array
    (``string_to_array(btrim(tokens), ' ')``, migration 0008) answers "every query word is a
    token" with ``@>``.
    """

    __tablename__ = "item_search"
    __table_args__ = (Index("ix_item_search_tokens_gin", func.string_to_array(func.btrim(text("tokens")), " "),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    tokens: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[datetime] = mapped_column(index=True)

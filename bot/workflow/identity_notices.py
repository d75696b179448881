"""Notices about who connected what and who still holds access: a Page or an Instagram account that is not the one
asked for, a person saying so, and an access review's flag. Re-exported by bot/workflow/notices.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.workflow.notice_tags import NoticeType

__all__ = ["AccountMismatch", "PageMismatch", "ReviewFlagged", "WrongAccount", "WrongPage"]


@dataclass(frozen=True)
class AccountMismatch:
    """The connected Instagram account is not the one asked for at intake (posted once per account)."""

    tag: ClassVar[NoticeType] = NoticeType.ACCOUNT_MISMATCH
    requester: str
    requested_account: str
    username: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class WrongAccount:
    """The remover said the connected Instagram account is wrong: the customer keeps access to fix it."""

    tag: ClassVar[NoticeType] = NoticeType.WRONG_ACCOUNT
    by: str
    requested_account: str
    username: str | None = None


@dataclass(frozen=True)
class ReviewFlagged:
    """An approver flagged the confirmed removal in the access review: the customer still has access."""

    tag: ClassVar[NoticeType] = NoticeType.REVIEW_FLAGGED
    by: str


@dataclass(frozen=True)
class PageMismatch:
    """The connected Page is not the one asked for at intake (posted once per Page)."""

    tag: ClassVar[NoticeType] = NoticeType.PAGE_MISMATCH
    requester: str
    requested_page: str
    page_name: str | None = None
    page_id: str | None = None


@dataclass(frozen=True)
class WrongPage:
    """The confirmer said the connected Page is wrong: the customer keeps access to connect the right one."""

    tag: ClassVar[NoticeType] = NoticeType.WRONG_PAGE
    by: str
    requested_page: str
    page_name: str | None = None
    page_id: str | None = None

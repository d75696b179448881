"""Cases that connect Instagram (alone or beside Messenger): every requested channel polled, one removal.

The case keeps one state machine (store/states.py) for the whole case; each channel's status lives in its own
columns. Removal is asked only once every requested channel is ACTIVE; until then the customer keeps access,
and every change of either channel is reported once, in the transaction that records it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.workflow.core import SYSTEM_ACTOR, load, move, report
from bot.workflow.intake import parse_instagram_username
from bot.workflow.notices import AccountMismatch, ChannelUpdate, Notice, PageMismatch, RevokeReason, RevokeStep
from bot.workflow.pages import PageCheck, compare_page
from sinch import ChannelReadings, ChannelStatus, InstagramStatus, MessengerStatus
from store import repo
from store.limits import clip
from store.models import Channel, Onboarding
from store.states import POLLED_STATES, OnboardingState

__all__ = [
    "CHANNEL_LABELS", "apply_channel_readings", "channels_of", "check_page", "compare_account", "connected_at",
    "kept_wrong_page", "page_identity", "parse_instagram_username", "poll_due", "revoke_notice", "set_poll_due",
]

S = OnboardingState
CHANNEL_LABELS = {Channel.MESSENGER: "Messenger", Channel.INSTAGRAM: "Instagram"}
_FAILED = (ChannelStatus.FAILING, ChannelStatus.ERROR)


def compare_account(requested: str | None, *, username: str | None) -> PageCheck:
    """MATCH, MISMATCH, or UNVERIFIED when Sinch did not name the account (no Provisioning API)."""
    if not requested or not username:
        return PageCheck.UNVERIFIED
    return PageCheck.MATCH if username.removeprefix("@").lower() == requested.lower() else PageCheck.MISMATCH


def poll_due(case: Onboarding) -> datetime | None:
    """When the case's next poll is due, whichever column holds it."""
    return case.channels_poll_at if case.has_instagram and case.channels_poll_at else case.next_poll_at


def set_poll_due(case: Onboarding, when: datetime | None) -> None:
    """Schedule the next poll; a case with Instagram only in `channels_poll_at`, which older versions ignore."""
    if case.has_instagram:
        case.channels_poll_at = when
        case.next_poll_at = None
    else:
        case.next_poll_at = when


def revoke_notice(case: Onboarding, reason: RevokeReason) -> RevokeStep:
    """The removal step, with what the remover must check about the Page and the account."""
    return RevokeStep(reason=reason, email=case.contact_email, project_id=case.project_id,
                      page_check=case.page_check if Channel.MESSENGER in case.requested_channels else None,
                      requested_page=case.page, page_name=case.page_name, page_id=case.page_id,
                      account_check=case.ig_check, requested_account=case.instagram_username,
                      account_username=case.ig_username)


def page_identity(page_id: str | None, page_name: str | None) -> str:
    """What tells one connected Page from another: its id, or its name when Sinch sent no id."""
    return (page_id or f"name:{page_name or ''}")[:64]  # the width of the stored column


def kept_wrong_page(case: Onboarding, reading: MessengerStatus) -> bool:
    """A person said this connected Page is the wrong one: until the customer connects another, nothing moves."""
    return (case.page_check == PageCheck.WRONG_CONFIRMED
            and page_identity(reading.page_id, reading.page_name) == case.wrong_page_id)


def check_page(*, session: Session, case: Onboarding, reading: MessengerStatus,
               now: datetime) -> PageMismatch | None:
    """Compare the connected Page with the requested one; a thread notice the first time it does not match."""
    if not reading.connected or kept_wrong_page(case, reading):
        return None
    result = compare_page(case.page, page_id=reading.page_id, page_name=reading.page_name)
    if case.page_check == result:
        return None
    case.page_check = result.value
    if result == PageCheck.UNVERIFIED:
        return None  # nothing was compared (no Provisioning API): the card says so, the audit has nothing to add
    repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="page_check", now=now,
                      detail=f"result={result.value} requested={case.page} page_id={reading.page_id} "
                             f"page_name={reading.page_name}")
    if result != PageCheck.MISMATCH:
        return None
    return PageMismatch(requester=case.requester_id, requested_page=case.page, page_name=reading.page_name,
                        page_id=reading.page_id)


def _kept_wrong_account(case: Onboarding) -> bool:
    """A person said the connected account is the wrong one: until another is connected, it does not count."""
    return case.ig_check == PageCheck.WRONG_CONFIRMED and (case.ig_account_id or case.ig_username) == case.ig_wrong_id


def _messenger(*, session: Session, case: Onboarding, reading: MessengerStatus, now: datetime,
               notices: list[Notice]) -> bool:
    """Record the Messenger reading (and the Page check); True when its status changed."""
    previous = (case.channel_status, case.channel_description)
    status = clip(reading.status, Onboarding, "channel_status")
    description = clip(reading.description, Onboarding, "channel_description") if reading.description else None
    case.channel_status, case.channel_description, case.channel_checked_at = status, description, now
    mismatch = check_page(session=session, case=case, reading=reading, now=now)
    case.page_id = reading.page_id or case.page_id
    case.page_name = clip(reading.page_name, Onboarding, "page_name") if reading.page_name else case.page_name
    if mismatch is not None:
        notices.append(mismatch)
    if status == ChannelStatus.ACTIVE and case.active_at is None:
        case.active_at = now
    return previous != (status, description) and not (status == ChannelStatus.NOT_CONNECTED and previous[0] is None)


def _instagram(*, session: Session, case: Onboarding, reading: InstagramStatus, now: datetime,
               notices: list[Notice]) -> bool:
    """Record the Instagram reading (and the account check); True when its status changed."""
    previous = (case.ig_status, case.ig_description)
    status = clip(reading.status, Onboarding, "ig_status")
    description = clip(reading.description, Onboarding, "ig_description") if reading.description else None
    case.ig_status, case.ig_description, case.ig_checked_at = status, description, now
    case.ig_account_id = reading.account_id or case.ig_account_id
    case.ig_username = clip(reading.username, Onboarding, "ig_username") if reading.username else case.ig_username
    if reading.connected and not _kept_wrong_account(case):
        result = compare_account(case.instagram_username, username=reading.username)
        if case.ig_check != result:
            case.ig_check = result.value
            if result != PageCheck.UNVERIFIED:
                repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="account_check",
                                  now=now, detail=f"result={result.value} requested=@{case.instagram_username} "
                                                  f"account_id={reading.account_id} username={reading.username}")
            if result == PageCheck.MISMATCH:
                notices.append(AccountMismatch(requester=case.requester_id,
                                               requested_account=case.instagram_username or "",
                                               username=reading.username, account_id=reading.account_id))
    if status == ChannelStatus.ACTIVE and case.ig_active_at is None:
        case.ig_active_at = now
    return previous != (status, description) and not (status == ChannelStatus.NOT_CONNECTED and previous[0] is None)


def _status_of(case: Onboarding, channel: Channel) -> str:
    return (case.channel_status if channel is Channel.MESSENGER else case.ig_status) or ChannelStatus.NOT_CONNECTED


def _live(case: Onboarding, channel: Channel) -> bool:
    """ACTIVE, and not a Page or account a person called wrong."""
    if _status_of(case, channel) != ChannelStatus.ACTIVE:
        return False
    if channel is Channel.MESSENGER:
        return not (case.page_check == PageCheck.WRONG_CONFIRMED
                    and page_identity(case.page_id, case.page_name) == case.wrong_page_id)
    return not _kept_wrong_account(case)


def _target(case: Onboarding) -> OnboardingState:
    """The case's state from its channels' statuses: removal only when every requested channel is live."""
    channels = case.requested_channels
    statuses = [_status_of(case, channel) for channel in channels]
    if all(_live(case, channel) for channel in channels):
        return S.REVOKING
    if any(status in _FAILED for status in statuses):
        return S.FAILING
    if any(status in (ChannelStatus.PENDING, ChannelStatus.ACTIVE) for status in statuses):
        return S.ACTIVATING
    return case.state


def apply_channel_readings(*, session: Session, onboarding_id: int, readings: ChannelReadings, now: datetime) -> bool:
    """Record one poll of every requested channel in one transaction; post each change once. Returns changed."""
    case = load(session=session, onboarding_id=onboarding_id)
    if case.state not in POLLED_STATES:
        return False  # cancelled or expired while the poll was in flight
    was_failing = {channel: _status_of(case, channel) in _FAILED for channel in case.requested_channels}
    notices: list[Notice] = []
    changed: list[Channel] = []
    if readings.messenger is not None and _messenger(session=session, case=case, reading=readings.messenger, now=now,
                                                     notices=notices):
        changed.append(Channel.MESSENGER)
    if readings.instagram is not None and _instagram(session=session, case=case, reading=readings.instagram, now=now,
                                                     notices=notices):
        changed.append(Channel.INSTAGRAM)
    session.add(case)
    waiting = [channel for channel in case.requested_channels if not _live(case, channel)]
    for channel in changed:
        status = _status_of(case, channel)
        repo.record_event(session=session, onboarding=case, actor=SYSTEM_ACTOR, action="channel_status", now=now,
                          detail=f"{channel.value} status={status}")
        notices.append(ChannelUpdate(
            channel=channel.value, status=status,
            description=case.channel_description if channel is Channel.MESSENGER else case.ig_description,
            identity=case.page_name if channel is Channel.MESSENGER else (case.ig_username and f"@{case.ig_username}"),
            waiting_for=tuple(other.value for other in waiting if other is not channel),
            waiting_status=tuple(_status_of(case, other) for other in waiting if other is not channel),
            recovered=was_failing[channel] and status == ChannelStatus.PENDING,
        ))
    target = _target(case)
    moved = target != case.state
    if target is S.REVOKING:
        case.revoke_outcome = S.COMPLETED
        move(session=session, case=case, to=S.REVOKING, actor=SYSTEM_ACTOR, action="channel_active", now=now,
             attempted="become active", detail="every requested channel is ACTIVE")
        notices.append(revoke_notice(case, RevokeReason.ACTIVE))
    elif moved:
        move(session=session, case=case, to=target, actor=SYSTEM_ACTOR, action=f"channel_{target.value}", now=now,
             attempted=f"become {target.value}", detail=", ".join(f"{c.value}={_status_of(case, c)}"
                                                                 for c in case.requested_channels))
    if notices or moved:
        report(*notices, session=session, case=case, now=now)
    return bool(changed) or moved or bool(notices)


def channels_of(case: Onboarding) -> tuple[str, ...]:
    """The channels the customer was given access for, as people call them, in the order requested."""
    return tuple(CHANNEL_LABELS[channel] for channel in case.requested_channels)


def connected_at(case: Onboarding) -> dict[str, datetime | None]:
    """When each requested channel (by its label) first went ACTIVE, if it has."""
    return {CHANNEL_LABELS[channel]: case.active_at if channel is Channel.MESSENGER else case.ig_active_at
            for channel in case.requested_channels}

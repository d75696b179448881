"""Words for cases that connect Instagram: channel updates, the account check, the two-channel customer text."""

from __future__ import annotations

from bot.slack.blocks.base import Rendered, section
from bot.slack.mrkdwn import clip, escape, mention
from bot.workflow.notices import AccountMismatch, ChannelUpdate, WrongAccount
from bot.workflow.pages import PageCheck
from store.models import Channel, Onboarding, PageType

__all__ = ["CHANNEL_NAMES", "TOKEN_TYPE", "account_line", "account_mismatch", "channel_lines", "channel_update",
           "channels_title", "multi_channel_instructions", "what_to_connect", "wrong_account"]

CHANNEL_NAMES = {Channel.MESSENGER.value: "Messenger", Channel.INSTAGRAM.value: "Instagram"}
_STATUS_WORDS = {"NOT_CONNECTED": "not connected yet", "PENDING": "PENDING (activating)", "ACTIVE": "ACTIVE",
                 "FAILING": "FAILING", "ERROR": "ERROR"}
_EMOJI = {"ACTIVE": ":tada:", "PENDING": ":arrows_counterclockwise:", "FAILING": ":warning:", "ERROR": ":warning:"}
# The dashboard's words for the token a Page's type needs (the customer picks it when connecting Messenger).
TOKEN_TYPE = {PageType.PERSONAL: "User access token", PageType.BUSINESS: "System User access token"}


def _name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def _say(text: str, fallback: str) -> Rendered:
    return Rendered(text=fallback, blocks=[section(text)])


def channel_update(notice: ChannelUpdate, case: Onboarding) -> Rendered:
    """One channel changed; while another requested channel is not live, say which and that access is kept."""
    name = _name(notice.channel)
    status = _STATUS_WORDS.get(notice.status, f"`{escape(notice.status)}`")
    lead = "recovered: *PENDING* again" if notice.recovered else f"is *{status}*"
    who = f" ({mention(case.requester_id)})" if notice.status in ("FAILING", "ERROR") else ""
    text = f"{_EMOJI.get(notice.status, ':grey_question:')} The {name} channel {lead}{who}."
    details = []
    if notice.identity:
        details.append(f"{'Page' if notice.channel == Channel.MESSENGER.value else 'Account'} "
                       f"*{escape(notice.identity)}*")
    if notice.description:
        details.append(f"Sinch says: {escape(clip(notice.description, 1000))}")
    if details:
        text += "\n" + " · ".join(details)
    missing = list(zip(notice.waiting_for, notice.waiting_status, strict=False))
    if notice.status != "ACTIVE" and len(case.requested_channels) > 1:
        missing.insert(0, (notice.channel, notice.status))
    if missing:
        listed = ", ".join(f"*{_name(channel)}* ({_STATUS_WORDS.get(status, escape(status))})"
                           for channel, status in missing)
        text += (f"\n:hourglass_flowing_sand: Still missing: {listed}. The customer keeps access until every "
                 "requested channel is ACTIVE.")
    elif notice.status == "ACTIVE" and len(case.requested_channels) > 1:
        text += "\nEvery requested channel is *ACTIVE*."
    return _say(text, f"{name} channel {notice.status}")


def account_mismatch(notice: AccountMismatch) -> Rendered:
    """The connected Instagram account is not the requested one (posted once)."""
    connected = escape(f"@{notice.username}" if notice.username else notice.account_id or "unknown")
    return _say(f":warning: *Not the requested Instagram account* ({mention(notice.requester)}): connected "
                f"*{connected}*, requested *@{escape(notice.requested_account)}*. Whoever removes the customer's "
                "access is asked to confirm the account first.",
                "Connected Instagram account differs from the requested one")


def wrong_account(notice: WrongAccount) -> Rendered:
    """A person called the connected account wrong: the customer keeps access."""
    connected = escape(f"@{notice.username}" if notice.username else "the connected account")
    return _say(f":warning: {mention(notice.by)} says *{connected}* is the wrong Instagram account. The customer "
                f"keeps access: ask them to connect *@{escape(notice.requested_account)}* instead. The bot keeps "
                "watching the channel.", "Wrong Instagram account: the customer keeps access")


def account_line(check: str | None, requested: str | None, username: str | None, *, active: bool) -> str:
    """What the remover must know about the Instagram account before removing access."""
    if check == PageCheck.MISMATCH:
        return (f"\n:warning: *Check the Instagram account first:* connected *@{escape(username or '?')}*, "
                f"requested *@{escape(requested or '?')}*. If it is right after all, remove the access and press "
                "*Right account, access removed*; if not, press *Wrong account, keep access*.")
    if check == PageCheck.UNVERIFIED and active:
        return (f"\nThe bot could not verify which Instagram account was connected (no Provisioning API): check "
                f"it is *@{escape(requested or '?')}* in the app's Instagram channel before removing the access.")
    return ""


def multi_channel_instructions(case: Onboarding, app_name: str) -> str:
    """The customer text for exactly the requested channels, in order (plain text, pasted into an e-mail)."""
    names = " and ".join(_name(channel.value) for channel in case.requested_channels)
    lines = [f"You have been invited to a Sinch project so you can connect {names}:",
             "1. Accept the invitation e-mail from Sinch and log in to the Sinch Build Dashboard.",
             f"2. Open Conversation API → Apps → \"{app_name}\" and choose Set up channels."]
    step = 3
    for channel in case.requested_channels:
        if channel is Channel.MESSENGER:
            portfolio = (" Then choose the business portfolio that owns the Page."
                         if case.page_type is PageType.BUSINESS else "")
            lines.append(f"{step}. Messenger: choose Facebook Messenger, the token type "
                         f"\"{TOKEN_TYPE[case.page_type]}\".{portfolio} Log in with Facebook as an admin of the "
                         f"Page and select exactly ONE Page: \"{case.page}\". Do not deselect any Page that is "
                         "already selected: that breaks its existing integration. ACTIVE means Messenger is live "
                         "on your Page.")
        else:
            lines.append(f"{step}. Instagram: choose Instagram and connect exactly ONE account: "
                         f"@{case.instagram_username}. It must be a professional (business or creator) account, "
                         "connected to a Facebook Page you administer, with Instagram app → Settings → Messages → "
                         "\"Allow access to messages\" for connected tools turned on. ACTIVE means Instagram Direct "
                         "messages reach Sinch.")
        step += 1
    lines.append(f"{step}. Save. Each channel shows ACTIVATING, then ACTIVE. Once every channel above is ACTIVE we "
                 "remove your access to the project; nothing else changes for you.")
    return "\n".join(lines)


def what_to_connect(case: Onboarding) -> str:
    """What the customer connects, in words: "a Facebook Page", "an Instagram account" or both."""
    things = {Channel.MESSENGER: "a Facebook Page", Channel.INSTAGRAM: "an Instagram account"}
    return " and ".join(things[channel] for channel in case.requested_channels)


def channels_title(case: Onboarding) -> str:
    """The case's channels in words: "Messenger", "Instagram" or "Messenger and Instagram"."""
    return " and ".join(_name(channel.value) for channel in case.requested_channels)


def _account(case: Onboarding) -> str:
    """The requested Instagram account, the connected one, and whether they match."""
    text = f"requested *@{escape(case.instagram_username or '?')}*"
    connected = f"@{escape(case.ig_username)}" if case.ig_username else ""
    match case.ig_check:
        case PageCheck.MATCH | PageCheck.RIGHT_CONFIRMED:
            text += f"\n:white_check_mark: connected: {connected}"
        case PageCheck.MISMATCH:
            text += f"\n:warning: connected *{connected}*: not the requested account"
        case PageCheck.WRONG_CONFIRMED:
            text += f"\n:warning: wrong account connected ({connected}); the customer keeps access to fix it"
        case PageCheck.UNVERIFIED:
            text += "\n_the connected account could not be verified (no Provisioning API)_"
    return text


def _status(status: str | None, description: str | None, invited: bool) -> str:
    if status is None:
        return "not checked yet" if invited else "-"
    text = f"`{escape(status)}`"
    if description:
        text += f" — {escape(clip(description, 300))}"
    return text


def channel_lines(case: Onboarding, page: str, messenger_status: str) -> list[tuple[str, str]]:
    """One card field per requested channel: its status and the connected identity."""
    lines = []
    for channel in case.requested_channels:
        if channel is Channel.MESSENGER:
            lines.append(("Messenger", f"{messenger_status}\nPage {page} · {TOKEN_TYPE[case.page_type]}"))
        else:
            status = _status(case.ig_status, case.ig_description, case.invited_at is not None)
            lines.append(("Instagram", f"{status}\n{_account(case)}"))
    return lines

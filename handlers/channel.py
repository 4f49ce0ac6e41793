"""Posts that reach the bot: channel posts (and their edits) from channels where it is an admin,
posts admins forward from any channel, and changes of the bot's own membership in chats. A
channel that is not a source yet is pending until an admin approves it (``bot.services.vetting``);
a rejected one is left again without asking anyone."""

from __future__ import annotations

import asyncio
import logging

from telegram import (
    Chat,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot import jobs
from bot.engine.text import storable
from bot.engine.types import PostIn
from bot.i18n import t
from bot.services import confirmations, subscriptions, vetting
from bot.services.ingest import IngestStatus
from handlers import Context, is_bot_admin, reply, speaking

logger = logging.getLogger(__name__)


def _post_of(message: Message, message_id: int | None = None, username: str | None = None) -> PostIn:
    mid = message_id if message_id is not None else message.message_id
    return PostIn(message_id=mid, posted_at=message.date, text=message.text or message.caption or "",
                  edited_at=message.edit_date, url=f"https://t.me/{username}/{mid}" if username else None)


async def on_channel_post(update: Update, context: Context) -> None:
    """Ingest a channel post or its edit when the channel is a source; a channel that is not one
    is pending (its admins-to-be are asked once) and its posts are kept aside until approved."""
    message = update.channel_post or update.edited_channel_post
    if message is None or not (message.text or message.caption):
        return
    chat = message.chat
    username = storable(chat.username) if chat.username else None
    title = storable(chat.title or "") or str(chat.id)
    post = _post_of(message, username=username)
    rt = context.runtime
    outcome = await rt.delivery.ingest_and_alert(context.bot, chat_id=chat.id, title=title, username=username,
                                                 post=post, create=False)
    if outcome.status is IngestStatus.NEW_SOURCE:
        standing = await asyncio.to_thread(vetting.hold_post, rt.session_factory,
                                           vetting.Channel(chat.id, title, username), post)
        if standing is vetting.Vetting.FOLLOWED:  # approved in between: ingest it now
            outcome = await rt.delivery.ingest_and_alert(context.bot, chat_id=chat.id, title=title,
                                                         username=username, post=post, create=False)
        elif standing is vetting.Vetting.NEW:
            await ask_admins(context, vetting.Channel(chat.id, title, username))
        elif standing is vetting.Vetting.REJECTED:
            await leave_rejected(context, chat.id)
        logger.info("channel %s post %s: %s", chat.id, message.message_id, standing)
        return
    logger.info("channel %s post %s: %s, %d claims", chat.id, message.message_id, outcome.status, outcome.claims)


async def ask_admins(context: Context, channel: vetting.Channel) -> None:
    """Ask every admin, in their language, whether to follow a pending channel (Approve / Reject)."""
    rt = context.runtime
    configured, added = await asyncio.to_thread(subscriptions.list_admin_ids, rt.session_factory, rt.settings)
    name = f"{channel.title} (@{channel.username})" if channel.username else channel.title
    asked: list[vetting.Question] = []
    for admin_id in configured + added:
        sub = await asyncio.to_thread(subscriptions.get_subscriber, rt.session_factory, admin_id)
        lang = sub.language if sub else subscriptions.pick_language(None)
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton(t(lang, "btn_channel_approve"), callback_data=f"chan:yes:{channel.chat_id}"),
            InlineKeyboardButton(t(lang, "btn_channel_reject"), callback_data=f"chan:no:{channel.chat_id}"),
        ]])
        try:
            sent = await context.bot.send_message(admin_id, t(lang, "channel_pending", name=name), reply_markup=markup)
        except TelegramError as exc:  # an admin who never opened a chat with the bot, or blocked it
            logger.warning("could not ask admin %s about channel %s: %s", admin_id, channel.chat_id, exc)
            continue
        asked.append(vetting.Question(admin_id, sent.message_id, lang))
    await asyncio.to_thread(vetting.remember_questions, rt.session_factory, channel.chat_id, asked)


async def leave_rejected(context: Context, chat_id: int) -> None:
    """A rejected channel added the bot again (or posted): leave it again, asking nobody."""
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:  # not in it any more: nothing to leave
        logger.info("could not leave rejected channel %s: %s", chat_id, exc)
    logger.info("left rejected channel %s again", chat_id)


async def show_decision(context: Context, questions: tuple[vetting.Question, ...], key: str, *,
                        skip: tuple[int, int] | None = None, **values: object) -> None:
    """Replace each admin's copy of a question (but ``skip``, the one pressed) by the decision,
    in that admin's language, without buttons."""
    for question in questions:
        if (question.chat_id, question.message_id) == skip:
            continue
        try:
            await context.bot.edit_message_text(t(question.lang, key, **values), chat_id=question.chat_id,
                                                message_id=question.message_id)
        except TelegramError as exc:  # deleted by the admin, or too old to edit
            logger.info("could not update the question %s in chat %s: %s", question.message_id,
                        question.chat_id, exc)


@speaking
async def on_forwarded_post(update: Update, context: Context, lang: str) -> None:
    """An admin forwarded a channel post: ingest it, asking first when the channel is new."""
    message = update.effective_message
    if message is None:
        return
    if not await is_bot_admin(update, context):
        await reply(update, context, t(lang, "forward_not_admin"))
        return
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel) or not (message.text or message.caption):
        await reply(update, context, t(lang, "forward_not_channel"))
        return
    channel = origin.chat
    rt = context.runtime
    username = storable(channel.username) if channel.username else None
    post = PostIn(message_id=origin.message_id, posted_at=origin.date, text=message.text or message.caption or "",
                  url=f"https://t.me/{username}/{origin.message_id}" if username else None,
                  forwarded_from=channel.title)
    title = storable(channel.title or "") or str(channel.id)
    outcome = await rt.delivery.ingest_and_alert(context.bot, chat_id=channel.id, title=title,
                                                 username=username, post=post, create=False)
    if outcome.status is IngestStatus.NEW_SOURCE:
        forward = confirmations.Forward(channel.id, title, username, post)
        user = update.effective_user
        token = await asyncio.to_thread(confirmations.remember_forward, rt.session_factory, forward,
                                        user.id if user else None)
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton(t(lang, "btn_forward_yes"), callback_data=f"fwd:yes:{token}"),
            InlineKeyboardButton(t(lang, "btn_forward_no"), callback_data=f"fwd:no:{token}"),
        ]])
        await reply(update, context, t(lang, "forward_confirm", name=title), markup)
    elif outcome.status is IngestStatus.PAUSED:
        await reply(update, context, t(lang, "source_is_paused", name=outcome.source_name))
    else:
        await reply(update, context, t(lang, "forward_ingested", name=outcome.source_name, claims=outcome.claims))


async def on_my_chat_member(update: Update, context: Context) -> None:
    """The bot was blocked, kicked or left a chat: stop sending it digests. It is back (unblocked,
    added again): resume the digests it had stopped. A channel that is neither a source nor a
    subscriber and adds the bot is pending: the admins are asked to approve or reject it."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    rt = context.runtime
    status = change.new_chat_member.status
    gone = (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    if status in gone:
        await asyncio.to_thread(subscriptions.deactivate, rt.session_factory, change.chat.id, f"bot is {status}")
        if context.job_queue is not None:
            jobs.unschedule_digest(context.job_queue, change.chat.id)
    elif change.old_chat_member.status in gone:
        subscriber = await asyncio.to_thread(subscriptions.reactivate, rt.session_factory, change.chat.id)
        if subscriber is not None and context.job_queue is not None:
            jobs.schedule_digest(context.job_queue, rt.delivery, subscriber)
    if change.chat.type != Chat.CHANNEL:
        return
    chat = change.chat
    if status in gone:  # removed before anyone decided: nothing left to ask about
        withdrawn = await asyncio.to_thread(vetting.withdraw, rt.session_factory, chat.id)
        if withdrawn is not None:
            await show_decision(context, withdrawn.questions, "channel_withdrawn", name=withdrawn.title)
    elif status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER):
        username = storable(chat.username) if chat.username else None
        channel = vetting.Channel(chat.id, storable(chat.title or "") or str(chat.id), username)
        standing = await asyncio.to_thread(vetting.channel_joined, rt.session_factory, channel)
        if standing is vetting.Vetting.NEW:
            await ask_admins(context, channel)
        elif standing is vetting.Vetting.REJECTED:
            await leave_rejected(context, chat.id)

"""Posts that reach the bot: channel posts (and their edits) from channels where it is an admin,
posts admins forward from any channel, and changes of the bot's own membership in chats."""

from __future__ import annotations

import asyncio
import logging

from telegram import ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageOriginChannel, Update
from telegram.constants import ChatMemberStatus

from bot import jobs
from bot.services import confirmations, subscriptions
from bot.services.ingest import IngestStatus
from bot.engine.text import storable
from bot.engine.types import PostIn
from bot.i18n import t
from handlers import Context, is_bot_admin, language_of, reply, runtime

logger = logging.getLogger(__name__)


def _post_of(message: Message, message_id: int | None = None, username: str | None = None) -> PostIn:
    mid = message_id if message_id is not None else message.message_id
    return PostIn(message_id=mid, posted_at=message.date, text=message.text or message.caption or "",
                  edited_at=message.edit_date, url=f"https://t.me/{username}/{mid}" if username else None)


async def on_channel_post(update: Update, context: Context) -> None:
    """Ingest a channel post or its edit; the channel becomes a source on its first post."""
    message = update.channel_post or update.edited_channel_post
    if message is None or not (message.text or message.caption):
        return
    chat = message.chat
    username = storable(chat.username) if chat.username else None
    outcome = await runtime(context).delivery.ingest_and_alert(
        context.bot, chat_id=chat.id, title=storable(chat.title or "") or str(chat.id), username=username,
        post=_post_of(message, username=username), create=True)
    logger.info("channel %s post %s: %s, %d claims", chat.id, message.message_id, outcome.status, outcome.claims)


async def on_forwarded_post(update: Update, context: Context) -> None:
    """An admin forwarded a channel post: ingest it, asking first when the channel is new."""
    message = update.effective_message
    if message is None:
        return
    lang = await language_of(update, context)
    if not await is_bot_admin(update, context):
        await reply(update, context, t(lang, "forward_not_admin"))
        return
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel) or not (message.text or message.caption):
        await reply(update, context, t(lang, "forward_not_channel"))
        return
    channel = origin.chat
    rt = runtime(context)
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
    added again): resume the digests it had stopped."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    rt = runtime(context)
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

"""Updates of every kind the Bot API sends (Bot API 9.x), as JSON the way Telegram writes them,
and hypothesis strategies that make them strange: odd texts, entities out of range, unknown
fields, missing optional fields, and values of the wrong type."""

from __future__ import annotations

import copy
import time
from typing import Any

from hypothesis import strategies as st

JSONDict = dict[str, Any]

BOT_ID = 7012345678
NOW = int(time.time())

# Characters that break naive code: RTL and bidi controls, zero-width joiners, BOM, NUL and other
# C0 controls, astral emoji and math letters, combining marks, the replacement character, and
# the characters that matter to Telegram HTML.
NASTY = (
    "\u202e", "\u202d", "\u200f", "\u200e", "\u2066", "\u2069", "\u200b", "\u200c", "\u200d", "\ufeff",
    "\x00", "\x01", "\x1b", "\x7f", "\u0085", "\u2028", "\u2029", "\r", "\n", "\t",
    "😀", "👩\u200d👩\u200d👧", "🇺🇦", "𝕏", "𝔘", "\U0010fffd", "\U0001f9ff", "e\u0301", "\u0489", "\ufffd",
    "<", ">", "&", "&amp;", "&#0;", "&#xD800;", "<b>", "</code>", "<a href=\"javascript:alert(1)\">",
    "/", "@", "#", "_", "*", "`", "[", "]", "\\", "\"", "'",
    "Харків", "Київ", "بغداد", "עברית", "日本語",
)

nasty_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=12
).map("".join)

garbage_args = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=20)), min_size=1, max_size=6
).map(" ".join)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64), st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def user(user_id: int = 1001, **extra: Any) -> JSONDict:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en", **extra}


def private_chat(chat_id: int = 1001) -> JSONDict:
    return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}


def group_chat(chat_id: int = -100200300) -> JSONDict:
    return {"id": chat_id, "type": "supergroup", "title": "Group"}


def channel_chat(chat_id: int = -1001999888777) -> JSONDict:
    return {"id": chat_id, "type": "channel", "title": "Channel", "username": "somechannel"}


def message(text: str = "hello", *, chat: JSONDict | None = None, sender: JSONDict | None = None,
            message_id: int = 1, entities: list[JSONDict] | None = None) -> JSONDict:
    msg: JSONDict = {"message_id": message_id, "date": NOW, "chat": chat or private_chat(), "text": text}
    if sender is not None:
        msg["from"] = sender
    elif (chat or {}).get("type") != "channel":
        msg["from"] = user(msg["chat"]["id"] if msg["chat"]["type"] == "private" else 1001)
    if entities:
        msg["entities"] = entities
    return msg


def chat_member(status: str, member: JSONDict | None = None) -> JSONDict:
    body: JSONDict = {"status": status, "user": member or {"id": BOT_ID, "is_bot": True, "first_name": "Bot"}}
    if status == "administrator":
        body.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True, can_delete_messages=True,
                    can_manage_video_chats=True, can_restrict_members=True, can_promote_members=False,
                    can_change_info=True, can_invite_users=True, can_post_stories=False,
                    can_edit_stories=False, can_delete_stories=False)
    elif status == "kicked":
        body["until_date"] = 0
    elif status == "restricted":
        body.update(is_member=True, can_send_messages=False, can_send_audios=False, can_send_documents=False,
                    can_send_photos=False, can_send_videos=False, can_send_video_notes=False,
                    can_send_voice_notes=False, can_send_polls=False, can_send_other_messages=False,
                    can_add_web_page_previews=False, can_change_info=False, can_invite_users=False,
                    can_pin_messages=False, can_manage_topics=False, can_edit_tag=False, can_react_to_messages=False, until_date=0)
    return body


def poll() -> JSONDict:
    return {"id": "5001", "question": "Who?", "options": [{"persistent_id": "o1", "text": "a", "voter_count": 1},
                                                         {"persistent_id": "o2", "text": "b", "voter_count": 0}],
            "total_voter_count": 1, "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}


def every_kind() -> dict[str, JSONDict]:
    """One well-formed update body per update type, keyed by the update field."""
    sender = user(1001)
    chan = channel_chat()
    grp = group_chat()
    return {
        "message": message("hi"),
        "edited_message": message("hi again") | {"edit_date": NOW},
        "channel_post": message("Post", chat=chan) | {"sender_chat": chan},
        "edited_channel_post": message("Post, edited", chat=chan) | {"sender_chat": chan, "edit_date": NOW},
        "business_connection": {"id": "bc1", "user": sender, "user_chat_id": 1001, "date": NOW,
                                "is_enabled": True, "rights": {"can_reply": True}},
        "business_message": message("biz") | {"business_connection_id": "bc1"},
        "edited_business_message": message("biz2") | {"business_connection_id": "bc1", "edit_date": NOW},
        "deleted_business_messages": {"business_connection_id": "bc1", "chat": private_chat(),
                                      "message_ids": [1, 2]},
        "message_reaction": {"chat": grp, "message_id": 3, "user": sender, "date": NOW,
                             "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]},
        "message_reaction_count": {"chat": grp, "message_id": 3, "date": NOW,
                                   "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 2}]},
        "inline_query": {"id": "iq1", "from": sender, "query": "kharkiv", "offset": ""},
        "chosen_inline_result": {"result_id": "r1", "from": sender, "query": "kharkiv"},
        "callback_query": {"id": "cq1", "from": sender, "chat_instance": "-1", "data": "nothing:here",
                           "message": {"message_id": 77, "date": 0, "chat": private_chat()}},
        "shipping_query": {"id": "sq1", "from": sender, "invoice_payload": "p",
                           "shipping_address": {"country_code": "UA", "state": "", "city": "Kyiv",
                                                "street_line1": "x", "street_line2": "", "post_code": "01001"}},
        "pre_checkout_query": {"id": "pq1", "from": sender, "currency": "XTR", "total_amount": 1,
                               "invoice_payload": "p"},
        "purchased_paid_media": {"from": sender, "paid_media_payload": "p"},
        "poll": poll(),
        "poll_answer": {"poll_id": "5001", "user": sender, "option_ids": [0], "option_persistent_ids": ["o1"]},
        "my_chat_member": {"chat": grp, "from": sender, "date": NOW,
                           "old_chat_member": chat_member("member"),
                           "new_chat_member": chat_member("administrator")},
        "chat_member": {"chat": grp, "from": sender, "date": NOW,
                        "old_chat_member": chat_member("left", sender),
                        "new_chat_member": chat_member("restricted", sender)},
        "chat_join_request": {"chat": grp, "from": sender, "user_chat_id": 1001, "date": NOW},
        "chat_boost": {"chat": chan, "boost": {"boost_id": "b1", "add_date": NOW, "expiration_date": NOW + 86400,
                                               "source": {"source": "premium", "user": sender}}},
        "removed_chat_boost": {"chat": chan, "boost_id": "b1", "remove_date": NOW,
                               "source": {"source": "premium", "user": sender}},
        "managed_bot": {"user": sender, "bot": {"id": 7099, "is_bot": True, "first_name": "Managed"}},
        "guest_message": message("guest"),
    }


KINDS = tuple(every_kind())


def with_kind(kind: str, body: JSONDict) -> JSONDict:
    return {kind: copy.deepcopy(body)}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append(prefix + (key,))
            out.extend(_paths(child, prefix + (key,)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append(prefix + (index,))
            out.extend(_paths(child, prefix + (index,)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, body: JSONDict) -> JSONDict:
    """``body`` with one to three mutations: a field removed, a value replaced by any JSON value,
    or an unknown field added."""
    doc = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        action = draw(st.sampled_from(("drop", "replace", "add")))
        if action == "add" or not paths:
            target_path = draw(st.sampled_from([()] + [p for p in paths if isinstance(_get(doc, p), dict)]))
            target = _get(doc, target_path)
            target[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        if action == "drop":
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc

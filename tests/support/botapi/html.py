"""Telegram HTML as tdlib parses it: tags, entities and UTF-16 offsets, with Telegram's error wording."""

from __future__ import annotations

import logging
import re
import struct



from tests.support.botapi.types import JSONDict
from tests.support.botapi.common import PNG_SIGNATURE

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Text that Telegram refuses with ``can't parse entities``."""


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
        "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_TAG_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre",
}  # fmt: skip
_HTML_SPACES = " \t\r\n\f\v"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_UNQUOTED_VALUE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str, int, bool] | None:
    """Decode the HTML entity at ``text[pos] == "&"`` the way tdlib does.

    Returns:
        (decoded character, index after the entity, whether a ``;`` ended it), or None when
        Telegram would keep the ``&`` as a literal character.
    """
    n = len(text)
    i = pos + 1
    code: int
    if i < n and text[i] == "#":
        i += 1
        if i < n and text[i] in "xX":
            i += 1
            start = i
            while i < n and text[i] in "0123456789abcdefABCDEF":
                i += 1
            digits, base = text[start:i], 16
        else:
            start = i
            while i < n and text[i].isascii() and text[i].isdigit():
                i += 1
            digits, base = text[start:i], 10
        if not digits or len(digits) > 7:
            return None
        code = int(digits, base)
        if code == 0 or code > 0x10FFFF:
            return None
        decoded = chr(code)
    else:
        start = i
        while i < n and text[i].isascii() and text[i].isalpha():
            i += 1
        name = text[start:i]
        if name not in _NAMED_ENTITIES:
            return None
        decoded = _NAMED_ENTITIES[name]
    if i < n and text[i] == ";":
        return decoded, i + 1, True
    return decoded, i, False


def parse_html(html: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram's HTML parse mode into plain text and message entities.

    Follows tdlib's ``parse_html``: the tags Telegram documents, attributes quoted or not,
    the entities ``&lt; &gt; &amp; &quot;`` and numeric ones, and its error wording.

    Args:
        html: The text as the bot sent it with ``parse_mode="HTML"``.
        strict_ampersand: Also refuse an ``&`` that does not start an entity terminated by
            ``;`` (Telegram itself would show it literally).

    Returns:
        The plain text and its entities (UTF-16 offsets), sorted as Telegram sorts them.

    Raises:
        HtmlParseError: With Telegram's message, e.g. ``Unsupported start tag "foo" at byte
            offset 3``.
    """
    n = len(html)
    out: list[str] = []
    utf16 = 0
    # open tags: (name, attributes, utf16 offset where the entity starts)
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < n:
        ch = html[i]
        if ch == "&":
            decoded = _decode_entity(html, i)
            if decoded is not None and (decoded[2] or not strict_ampersand):
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(html, i)} (the test server '
                    "is strict here: Telegram would show it as text; escape it with html.escape)"
                )
        if ch != "<":
            out.append(ch)
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i >= n or html[i] != "/":  # a start tag
            while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                )
            tag = html[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                )
            attributes: dict[str, str] = {}
            while html[i] != ">":
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] == ">":
                    break
                name_start = i
                while i < n and html[i] not in _HTML_SPACES and html[i] not in "=>":
                    i += 1
                attr_name = html[name_start:i].lower()
                if not attr_name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(html, begin)}"
                    )
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] != "=":  # a valueless attribute, e.g. <blockquote expandable>
                    attributes[attr_name] = ""
                    continue
                i += 1
                while i < n and html[i] in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if html[i] in "\"'":
                    quote = html[i]
                    i += 1
                    value_start = i
                    while i < n and html[i] != quote:
                        i += 1
                    if i >= n:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                        )
                    value = _unescape_attribute(html[value_start:i])
                    i += 1
                else:
                    value_start = i
                    while i < n and html[i] in _UNQUOTED_VALUE_CHARS:
                        i += 1
                    if i >= n:
                        raise HtmlParseError(
                            f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                        )
                    if html[i] not in _HTML_SPACES and html[i] != ">":
                        raise HtmlParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(html, value_start)}"
                        )
                    value = html[value_start:i]
                attributes[attr_name] = value
            if tag == "span" and attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(html, begin)}"
                )
            if tag == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
                raise HtmlParseError("Invalid custom emoji identifier specified")
            stack.append((tag, attributes, utf16))
            i += 1
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(html, begin)}")
        i += 1
        while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
            i += 1
        end_tag = html[begin + 2 : i].lower()
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(html, begin)}")
        tag, attributes, start = stack.pop()
        if end_tag and end_tag != tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        i += 1
        length = utf16 - start
        if length <= 0:
            continue
        entity = _entity_for_tag(tag, attributes, start, length, "".join(out), stack, entities)
        if entity is not None:
            entities.append(entity)

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    text = "".join(out)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, entities


def _unescape_attribute(value: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_entity(value, i)) is not None:
            parts.append(decoded[0])
            i = decoded[1]
        else:
            parts.append(value[i])
            i += 1
    return "".join(parts)


def _entity_for_tag(
    tag: str,
    attributes: dict[str, str],
    offset: int,
    length: int,
    text_so_far: str,
    open_tags: list[tuple[str, dict[str, str], int]],
    entities: list[JSONDict],
) -> JSONDict | None:
    entity: JSONDict = {"offset": offset, "length": length}
    if tag == "a":
        href = attributes.get("href", "")
        if href.startswith("tg://user?id=") and href[len("tg://user?id=") :].isdigit():
            user_id = int(href[len("tg://user?id=") :])
            entity.update(
                type="text_mention", user={"id": user_id, "is_bot": False, "first_name": ""}
            )
            return entity
        if not href:
            return None
        entity.update(type="text_link", url=href)
        return entity
    if tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=attributes["emoji-id"])
        return entity
    if tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attributes else "blockquote"
        return entity
    if tag == "code":
        language = attributes.get("class", "")
        if language.startswith("language-") and open_tags and open_tags[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language
            open_tags[-1][1]["language"] = language[len("language-") :]
            return None
    if tag == "pre" and attributes.get("language"):
        entity.update(type="pre", language=attributes["language"])
        return entity
    entity["type"] = _TAG_ENTITY_TYPES[tag]
    return entity


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading/trailing whitespace as Telegram does, keeping entities in place."""
    stripped = text.lstrip()
    shift = utf16_len(text[: len(text) - len(stripped)])
    stripped = stripped.rstrip()
    end = utf16_len(stripped)
    trimmed: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            trimmed.append({**entity, "offset": start, "length": stop - start})
    return stripped, trimmed


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![^\s])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<url>https?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32})"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)


def detect_entities(text: str) -> list[JSONDict]:
    """Find the entities Telegram marks by itself in a user's text.

    Detects ``bot_command``, ``url``, ``mention`` and ``hashtag`` with UTF-16 offsets.
    """
    entities: list[JSONDict] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


# ---------------------------------------------------------------------------------------------

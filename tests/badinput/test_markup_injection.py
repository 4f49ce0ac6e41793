"""Random Unicode, 100 KB posts and markup injection through extraction and digest rendering:
extraction never fails, every digest message is Telegram HTML that Telegram accepts (checked with
the test server's parser, which follows tdlib's) under 4096 UTF-16 units, links go to http(s)
only, and text from posts and channel titles comes out as text, never as markup."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.digest import TELEGRAM_LIMIT, plain_text, render_digest, split_messages
from bot.engine.extract import Extractor
from bot.engine.types import Claim, ClaimRecord, IncidentView, Kind, Place, Qualifier, Side, SourceInfo
from tests.badinput.update_kinds import NASTY, nasty_text
from tests.support.botapi import parse_html, utf16_len

ENGINE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

INJECTIONS = ("<b>bold</b>", "&", "&amp;", "&lt;", "<a href=javascript:alert(1)>x</a>", "</code>", "<code>",
              "<pre>", "</a>", "\"><b>", "<tg-spoiler>", "<span class=tg-spoiler>", "&#x3C;b&#x3E;", "<!--",
              "<script>alert(1)</script>", "*bold* _it_ `code` [l](http://x)", "<", ">")
injection = st.lists(st.one_of(st.sampled_from(INJECTIONS), st.sampled_from(NASTY), st.text(max_size=6)),
                     min_size=1, max_size=10).map("".join)
names = st.one_of(injection, st.text(min_size=1, max_size=200), injection.map(lambda s: s * 40))
urls = st.one_of(st.none(), st.just("https://t.me/channel/12"), st.just("javascript:alert(1)"),
                 st.just("https://example.org/a?b=1&c=<2>\"'"), st.just("tg://user?id=1"),
                 st.just("https://t.me/" + "x" * 5000 + "/1"), injection.map(lambda s: "https://x.org/" + s),
                 injection)
SIDES = (None, Side.UKRAINE, Side.RUSSIA)
KINDS = (Kind.SHELLING, Kind.MISSILE, Kind.DRONE, Kind.CONTROL)


@st.composite
def incident_views(draw: st.DrawFn) -> list[IncidentView]:
    """Incidents whose places, channel titles, claimants and links are whatever a post could carry."""
    views: list[IncidentView] = []
    next_id = 1
    for incident in range(draw(st.integers(1, 6))):
        place = Place(name=draw(names), oblast=draw(st.one_of(st.none(), names)))
        kind = draw(st.sampled_from(KINDS))
        day = date(2022, 3, 1)
        records = []
        for _ in range(draw(st.integers(1, 30 if incident == 0 else 3))):
            claim = Claim(
                kind=kind, place=place, date=day, evidence=draw(injection),
                killed=draw(st.one_of(st.none(), st.integers(0, 10**9))),
                injured=draw(st.one_of(st.none(), st.integers(0, 10**6))),
                qualifier=draw(st.sampled_from((None, Qualifier.AT_LEAST, Qualifier.APPROX))),
                controller=draw(st.sampled_from(SIDES)) if kind is Kind.CONTROL else None,
                perpetrator=draw(st.sampled_from(SIDES)),
                claimant=draw(st.one_of(st.none(), names)),
                targets=tuple(draw(st.lists(names, max_size=2))),
            )
            records.append(ClaimRecord(id=next_id, claim=claim, source_ref=f"ref{next_id}",
                                       source_name=draw(names), message_id=next_id,
                                       posted_at=datetime(2022, 3, 1, 12, tzinfo=UTC), url=draw(urls)))
            next_id += 1
        views.append(IncidentView(incident + 1, summarize(records), tuple(records),
                                  tuple(detect_conflicts(records))))
    return views


def _one_line(text: str) -> str:
    return " ".join(text.split())


@ENGINE
@given(views=incident_views(), lang=st.sampled_from(("en", "uk", "ru", "xx")),
       header=st.sampled_from((None, "🚨 <b>Alert</b>")))
def test_every_digest_message_is_html_telegram_accepts(views: list[IncidentView], lang: str,
                                                       header: str | None) -> None:
    """Also with a header (an alert's title), which must fit in the first message, not overflow it."""
    messages = render_digest(views, day=date(2022, 3, 1), lang=lang, html_mode=True, header=header)
    if header:
        assert messages[0].startswith(header + "\n\n")
    plain_parts = []
    for message in messages:
        assert utf16_len(message) <= TELEGRAM_LIMIT
        text, entities = parse_html(message)  # raises HtmlParseError as Telegram would refuse it
        assert text.strip(), "an empty message cannot be sent"
        for entity in entities:
            assert entity["type"] in ("bold", "text_link"), entity  # nothing a post wrote became markup
            if entity["type"] == "text_link":
                assert re.match(r"https?://", entity["url"]), entity["url"]
        plain_parts.append(text)
    shown = _one_line(" ".join(plain_parts))
    for view in views:  # every incident is in the digest, its place shown as text
        assert _one_line(view.summary.place.name)[:30] in shown, view.summary


@ENGINE
@given(views=incident_views(), lang=st.sampled_from(("en", "uk", "ru")))
def test_the_plain_text_digest_keeps_every_incident_under_the_limit(views: list[IncidentView], lang: str) -> None:
    messages = render_digest(views, day=date(2022, 3, 1), lang=lang, html_mode=False)
    assert all(utf16_len(m) <= TELEGRAM_LIMIT for m in messages)
    shown = _one_line(" ".join(messages))
    for view in views:
        assert _one_line(view.summary.place.name)[:30] in shown


@ENGINE
@given(paragraphs=st.lists(st.one_of(injection, st.text(max_size=5000), st.sampled_from(NASTY)), max_size=8))
def test_split_messages_never_breaks_an_escaped_text(paragraphs: list[str]) -> None:
    """Escaped text split anywhere stays valid HTML, and every character is kept (but the spaces a
    split falls on)."""
    import html

    escaped = [html.escape(p, quote=False) for p in paragraphs if p.strip()]
    messages = split_messages(escaped)
    assert all(utf16_len(m) <= TELEGRAM_LIMIT for m in messages)
    shown = "".join(parse_html(m)[0] for m in messages)
    assert "".join("".join(p.split()) for p in paragraphs if p.strip()) == "".join(shown.split())


def test_a_hundred_kilobyte_post_of_markup_is_read_as_text(extractor: Extractor) -> None:
    post = ("<b>Харків</b> &amp; <a href=\"javascript:alert(1)\">обстріл</a>: 2 загиблих, 5 поранених. " * 1200)[:100_000]
    claims = extractor.extract_claims(post, posted_at=datetime(2022, 3, 1, 12, tzinfo=UTC),
                                      source=SourceInfo("ref", "<b>Канал</b> & Co"))
    assert claims and claims[0].place.name == "Kharkiv"
    for claim in claims:
        assert "<" not in claim.evidence and "javascript" not in claim.evidence


@ENGINE
@given(text=st.one_of(st.text(max_size=3000), nasty_text, injection,
                      st.sampled_from(NASTY).map(lambda piece: piece * 25_000)),
       lang=st.sampled_from((None, "uk", "ru", "en", "xx")),
       posted_at=st.one_of(st.none(),
                           st.sampled_from((datetime(9999, 12, 31, 23, tzinfo=UTC),
                                            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))),
                           st.datetimes(timezones=st.sampled_from((UTC, timezone(timedelta(hours=14)),
                                                                   timezone(timedelta(hours=-12)))))))
def test_extraction_takes_any_text(extractor: Extractor, text: str, lang: str | None,
                                   posted_at: datetime | None) -> None:
    """Any text, any language hint, any post time (the calendar's edges included) gives claims."""
    dated = "31 грудня у Харкові обстріл, вчора 2 загиблих. " + text  # a claim whose date needs the post's
    claims = extractor.extract_claims(dated, posted_at=posted_at, lang=lang)
    for claim in claims:
        assert isinstance(claim, Claim) and isinstance(claim.place, Place) and isinstance(claim.evidence, str)
        assert claim.killed is None or claim.killed >= 0


@pytest.mark.parametrize("source_name", ["<b>Channel</b>", "Tom & Jerry", "</code><a href='javascript:x'>",
                                         "\u202eliaM\u202c &lt;", "x" * 6000])
def test_a_channel_title_is_shown_as_typed(extractor: Extractor, source_name: str) -> None:
    """A real post, a channel named with markup: the digest shows the name as text."""
    text = "Внаслідок обстрілу Харкова загинули 2 людини, ще 5 поранені."
    posted = datetime(2022, 3, 1, 12, tzinfo=UTC)
    claims = extractor.extract_claims(text, posted_at=posted, source=SourceInfo("r1", source_name))
    records = tuple(ClaimRecord(i + 1, c, "r1", source_name, 1, posted, url="https://t.me/chan/1")
                    for i, c in enumerate(claims))
    view = IncidentView(1, summarize(records), records, tuple(detect_conflicts(records)))
    messages = render_digest([view], day=posted.date(), lang="en")
    for message in messages:
        assert utf16_len(message) <= TELEGRAM_LIMIT
        text_shown, entities = parse_html(message)
        assert {e["type"] for e in entities} <= {"bold", "text_link"}
    assert _one_line(source_name)[:30] in " ".join(plain_text(m) for m in messages)

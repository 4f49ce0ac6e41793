"""The t.me web preview: parsing the real saved pages, paging with ?before=, no-preview channels."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pollers_helpers import ChannelPages, LocalServer, Reply, split_messages

from bot.pollers.http import FetchError, SafeFetcher
from bot.pollers.tme import (
    NoPreviewError,
    TmeClient,
    normalize_channel,
    parse_preview,
    parse_views,
)

pytestmark = pytest.mark.corpus

Fixture = Callable[[str], str]

FULL_IDS = [70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]


def test_full_page_every_text_post(tme_fixture: Fixture) -> None:
    html = tme_fixture("full.html")
    page = parse_preview(html, "topwar_official")

    _, bubbles, _ = split_messages(html)
    media_only = [b for b in bubbles if "tgme_widget_message_text" not in b]
    assert html.count('class="tgme_widget_message_bubble"') == len(bubbles) == 12
    assert len(page.posts) == len(bubbles) - len(media_only)
    assert page.skipped == len(media_only)

    assert [post.message_id for post in page.posts] == FULL_IDS
    assert page.title == "Военное обозрение"
    assert page.min_id == 70989
    posts = {post.message_id: post for post in page.posts}

    first = posts[70989]
    assert first.posted_at == datetime(2023, 2, 28, 7, 47, 53, tzinfo=UTC)
    assert first.url == "https://t.me/topwar_official/70989"
    assert first.views == 37200
    assert first.text.startswith("В Санкт-Петербурге в небо над городом подняли истребители")
    assert "сообщает Baza.\nСудя по сервису Flightradar" in first.text  # <br/> is a line break
    assert first.forwarded_from is None and first.edited_at is None

    # An album: the date is the post's, not the video's duration; its caption appears once.
    album = posts[70992]
    assert album.posted_at == datetime(2023, 2, 28, 8, 51, 58, tzinfo=UTC)
    assert album.text.startswith("Сегодня ночью в Республике Адыгея упал неизвестный")
    assert album.text.count("Ту-141 или Ту-143.") == 1

    assert posts[70995].text == (
        'План "Ковер" отменен, небо над Санкт-Петербургом открывают, сообщает источник РЕН ТВ.'
    )

    forwarded = posts[70996]
    assert forwarded.forwarded_from == "Военкор Ярем"
    assert "в Бахмуте на расстояние 180 метров, пока не соответствует" in forwarded.text
    assert "infantmilitario" not in forwarded.text  # the link's href and preview card stay out
    assert forwarded.text.endswith("на фоне стелы с МиГ-17.\n\n@yaremshooter")

    assert posts[70997].text.startswith("Минобороны России сообщило, что дежурными силами")
    assert "проведена тренировка по взаимодействию" in posts[70997].text  # <b> joins cleanly
    assert posts[70998].forwarded_from == "БелВПО"
    assert posts[71006].forwarded_from == "Старше Эдды"
    assert posts[71008].posted_at == datetime(2023, 2, 28, 13, 14, 3, tzinfo=UTC)
    assert posts[71008].views == 14900
    assert all(post.edited_at is None for post in page.posts)
    assert all("  " not in post.text for post in page.posts)  # markup indentation collapsed


def test_mixed_page_skips_and_counts_posts_without_text(tme_fixture: Fixture) -> None:
    names = [
        "message_text.html",
        "message_sticker.html",
        "message_poll.html",
        "message_media_round_video.html",
        "message_media_photo_and_video.html",
    ]
    page = parse_preview("".join(tme_fixture(name) for name in names), "mixed")
    assert [post.message_id for post in page.posts] == [70991, 46908]
    assert page.skipped == 3
    assert page.min_id == 5  # skipped bubbles count for paging too
    assert page.title is None


@pytest.mark.parametrize(
    ("name", "message_id", "text", "forwarded_from", "views", "edited"),
    [
        (
            "message_text.html", 70991,
            "Неопознанный летающий объект замечен в 160 – 200 км от Петербурга\n\n"
            "По данным «Фонтанки», такую информацию министерство обороны",
            None, 33400, False,
        ),
        (
            "message_link_preview.html", 22360,
            "https://vnnews.ru/georgiy-zotov-okkupaciya-volosatym-kr/", None, 226200, False,
        ),
        (
            "message_link_preview_text_only.html", 22368,
            "http://publication.pravo.gov.ru/Document/View/0001202302270011?index=7&rangeSize=1",
            None, 246800, False,
        ),
        (
            "message_link_preview_video.html", 11226,
            "Жениться вам, барин, пора! 😁\n\nhttps://t.me/shalnyak/5410", None, 69400, True,
        ),
        (
            "message_media_file.html", 16936,
            "Центр изучения новых коммуникаций подготовил исследование: «Оппозиционные проекты, "
            "запущенные или получившие дополнительное финансирование на фоне СВО»",
            "Кремлёвская прачка", 171900, False,
        ),
        (
            "message_media_forwarded_from.html", 22358,
            "Британская разведка выяснила, почему Ким Чен Ын начал выводить дочку в свет",
            "Пул N3", 214400, False,
        ),
        (
            "message_media_photo_and_video.html", 46908,
            "Ночью над Белгородом сбили 3 беспилотника\n\nОни упали на улицы города.\n\n"
            "Сообщается, что на себе БПЛА несли взрывчатку из пластида.\n\n"
            "#Белгород #Беспилотники\n\n@anna_news",
            None, 59500, False,
        ),
        (
            "message_voice.html", 939,
            "Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы\n- Смешные переводы\n"
            "можно, матерные - нет\n\nСлушайте: @kakberadio\nПишите нам: @kakberadiobot",
            "Спортивный Екб", 746, False,
        ),
        ("message_with_from_author.html", 4, "test", None, 1, False),
    ],
)  # fmt: skip
def test_single_message_fixtures(
    tme_fixture: Fixture,
    name: str,
    message_id: int,
    text: str,
    forwarded_from: str | None,
    views: int,
    edited: bool,
) -> None:
    page = parse_preview(tme_fixture(name), "any")
    assert page.skipped == 0
    [post] = page.posts
    assert post.message_id == message_id
    assert post.text.startswith(text)
    if name != "message_text.html":
        assert post.text == text  # whole text, nothing from preview cards or documents
    assert post.forwarded_from == forwarded_from
    assert post.views == views
    assert post.edited_at == (post.posted_at if edited else None)
    assert post.posted_at.tzinfo is not None


def test_link_preview_card_and_document_title_are_not_text(tme_fixture: Fixture) -> None:
    [link] = parse_preview(tme_fixture("message_link_preview.html"), "oper_goblin").posts
    assert "Георгий Зотов" not in link.text
    [video] = parse_preview(tme_fixture("message_link_preview_video.html"), "x").posts
    assert "Дядь" not in video.text
    [document] = parse_preview(tme_fixture("message_media_file.html"), "x").posts
    assert ".pdf" not in document.text
    [signed] = parse_preview(tme_fixture("message_with_from_author.html"), "x").posts
    assert signed.url == "https://t.me/channel/4"
    assert signed.posted_at == datetime(2023, 2, 28, 16, 38, 34, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["message_sticker.html", "message_poll.html", "message_media_round_video.html"],
)
def test_posts_without_text_are_skipped(tme_fixture: Fixture, name: str) -> None:
    page = parse_preview(tme_fixture(name), "any")
    assert page.posts == ()
    assert page.skipped == 1
    assert page.min_id is not None


def test_service_message_is_skipped() -> None:
    html = (
        '<div class="tgme_widget_message service_message js-widget_message" data-post="ch/7">'
        '<div class="tgme_widget_message_text">Channel photo updated</div>'
        '<a class="tgme_widget_message_date"><time datetime="2023-02-28T08:48:01+00:00">'
        "08:48</time></a></div>"
    )
    page = parse_preview(html, "ch")
    assert (page.posts, page.skipped, page.min_id) == ((), 1, 7)


def test_reply_quote_is_not_the_post_text() -> None:
    html = (
        '<div class="tgme_widget_message js-widget_message" data-post="ch/9">'
        '<a class="tgme_widget_message_reply" href="https://t.me/ch/8">'
        '<div class="tgme_widget_message_text js-message_reply_text">the quoted post</div></a>'
        '<div class="tgme_widget_message_text js-message_text">the reply itself</div>'
        '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date">'
        '<time datetime="2023-02-28T08:48:01+00:00">08:48</time></a></span></div>'
    )
    [post] = parse_preview(html, "ch").posts
    assert post.text == "the reply itself"


@pytest.mark.parametrize(
    ("text", "value"),
    [("746", 746), ("1", 1), ("33.4K", 33400), ("1.2K", 1200), ("1.2M", 1_200_000),
     ("226.2K", 226200), ("", None), ("views", None)],
)  # fmt: skip
def test_parse_views(text: str, value: int | None) -> None:
    assert parse_views(text) == value


@pytest.mark.parametrize(
    "ref", ["topwar_official", "@topwar_official", "https://t.me/s/topwar_official",
            "t.me/topwar_official", "https://t.me/topwar_official/70989"],
)  # fmt: skip
def test_normalize_channel(ref: str) -> None:
    assert normalize_channel(ref) == "topwar_official"


@pytest.mark.parametrize("ref", ["", "../etc/passwd", "a b", "name?before=1", "@x"])
def test_normalize_channel_rejects(ref: str) -> None:
    with pytest.raises(ValueError, match="not a public channel username"):
        normalize_channel(ref)


def _channel_server(server: LocalServer, html: str, page_size: int = 4) -> None:
    server.route("/s/topwar_official", ChannelPages(html, page_size))


def _befores(server: LocalServer) -> list[str | None]:
    return [r.query.get("before") for r in server.requests_to("/s/topwar_official")]


@pytest.mark.asyncio
async def test_fetch_new_costs_one_request_when_nothing_is_new(
    server: LocalServer, tme_fixture: Fixture
) -> None:
    _channel_server(server, tme_fixture("full.html"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        assert await client.fetch_new("topwar_official", after_id=71008) == []
    assert _befores(server) == [None]


@pytest.mark.asyncio
async def test_fetch_new_follows_before_until_after_id(
    server: LocalServer, tme_fixture: Fixture
) -> None:
    _channel_server(server, tme_fixture("full.html"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        posts = await client.fetch_new("@topwar_official", after_id=70997)
    assert [p.message_id for p in posts] == [70998, 70999, 71000, 71006, 71007, 71008]
    assert _befores(server) == [None, "71000"]


@pytest.mark.asyncio
async def test_fetch_new_without_after_id_reads_the_newest_page(
    server: LocalServer, tme_fixture: Fixture
) -> None:
    _channel_server(server, tme_fixture("full.html"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        posts = await client.fetch_new("topwar_official", after_id=None)
    assert [p.message_id for p in posts] == [71000, 71006, 71007, 71008]
    assert _befores(server) == [None]


@pytest.mark.asyncio
async def test_fetch_new_stops_at_max_pages(server: LocalServer, tme_fixture: Fixture) -> None:
    _channel_server(server, tme_fixture("full.html"), page_size=2)
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""), max_pages=3)
        posts = await client.fetch_new("topwar_official", after_id=1)
    assert [p.message_id for p in posts] == FULL_IDS[-6:]
    assert len(_befores(server)) == 3


@pytest.mark.asyncio
async def test_backfill_follows_before(server: LocalServer, tme_fixture: Fixture) -> None:
    _channel_server(server, tme_fixture("full.html"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        two = await client.backfill("topwar_official", pages=2)
        assert [p.message_id for p in two] == FULL_IDS[-8:]
        assert _befores(server) == [None, "71000"]
        everything = await client.backfill("topwar_official", pages=10)
    assert [p.message_id for p in everything] == FULL_IDS
    # three pages of four, then an empty page ends the walk
    assert _befores(server)[2:] == [None, "71000", "70996", "70989"]


@pytest.mark.asyncio
async def test_channel_without_preview(server: LocalServer) -> None:
    server.route("/s/closed_channel", Reply(302, headers={"Location": "/closed_channel"}))
    server.route("/closed_channel", Reply(200, b"<html><title>Telegram: Contact</title></html>"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        with pytest.raises(NoPreviewError, match="@closed_channel has no public web preview"):
            await client.fetch_new("closed_channel", after_id=None)


@pytest.mark.asyncio
async def test_error_status_is_a_fetch_error(server: LocalServer) -> None:
    server.route("/s/busy_channel", Reply(429, b"Too Many Requests"))
    async with SafeFetcher(allow_private=True) as fetcher:
        client = TmeClient(fetcher, base_url=server.url(""))
        with pytest.raises(FetchError, match=re.escape("HTTP 429")) as caught:
            await client.backfill("busy_channel", pages=1)
    assert caught.value.status == 429

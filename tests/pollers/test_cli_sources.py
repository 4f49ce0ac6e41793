"""``claimwatch sources ...`` and ``claimwatch poll --once`` run in-process against a local t.me.

The commands read their settings from the environment as they do for a user; the extraction
engine is loaded once per session (the CLI's loader is pointed at it) to keep the tests fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pollers_helpers import LocalServer, Reply
from sources_helpers import (
    CHANNEL,
    FULL_IDS,
    messages_of,
    open_db,
    page_of,
    stored_posts,
)

from bot.services import sources
from bot.cli import main

Fixture = Callable[[str], str]


@pytest.fixture
def cli(server: LocalServer, sqlite_url: str, extractor: Any,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``claimwatch`` with t.me at the local server; returns (exit status, stdout, stderr)."""
    monkeypatch.setenv("CLAIMWATCH_TME_URL", server.url(""))
    monkeypatch.setenv("CLAIMWATCH_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setattr(sources, "load_extractor", lambda settings: extractor)
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(["--db", sqlite_url, *argv])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_poll_once_adds_the_text_posts_then_nothing(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer, tme_fixture: Fixture, sqlite_url: str
) -> None:
    html = tme_fixture("full.html")
    server.route(f"/s/{CHANNEL}", page_of(html, []))  # the channel before its posts
    status, out, err = cli("sources", "add", f"@{CHANNEL}", "Military review", "russia")
    assert (status, err) == (0, "")
    assert out == f"added @{CHANNEL} (Военное обозрение): 0 new, 0 updated posts\n"

    server.route(f"/s/{CHANNEL}", page_of(html, messages_of(html)))
    status, out, err = cli("poll", "--once")
    assert (status, out, err) == (0, f"@{CHANNEL}: 12 new, 0 updated\n", "")
    assert [p.message_id for p in stored_posts(open_db(sqlite_url))] == FULL_IDS

    status, out, err = cli("poll", "--once", f"@{CHANNEL}")
    assert (status, out, err) == (0, f"@{CHANNEL}: 0 new, 0 updated\n", "")
    assert len(stored_posts(open_db(sqlite_url))) == 12


def test_add_a_channel_without_preview_is_one_line_and_status_1(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer
) -> None:
    server.route("/s/closed_channel", Reply(302, headers={"Location": "/closed_channel"}))
    server.route("/closed_channel", Reply(200, b"<html><title>Telegram: Contact</title></html>"))

    status, out, err = cli("sources", "add", "@closed_channel")

    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("claimwatch: @closed_channel has no public web preview")
    assert cli("sources", "list")[1].startswith("no sources followed yet")


def test_poll_error_is_one_line_per_source_and_status_1(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer, tme_fixture: Fixture
) -> None:
    html = tme_fixture("full.html")
    server.route(f"/s/{CHANNEL}", page_of(html, messages_of(html)))
    server.route("/s/broken_channel", page_of(html, []))
    assert cli("sources", "add", f"@{CHANNEL}")[0] == 0
    assert cli("sources", "add", "https://t.me/s/broken_channel", "--backfill", "0")[0] == 0
    server.route("/s/broken_channel", Reply(500, b"oops"))

    status, out, err = cli("poll", "--once")

    assert status == 1 and err == ""
    assert sorted(out.splitlines()) == [
        f"@broken_channel: error: HTTP 500 from {server.url('/s/broken_channel')}",
        f"@{CHANNEL}: 0 new, 0 updated",
    ]
    listed = cli("sources", "list")[1]
    assert "@broken_channel" in listed and "1 failures, last error: HTTP 500" in listed


def test_list_pause_resume_remove(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer, tme_fixture: Fixture, sqlite_url: str
) -> None:
    html = tme_fixture("full.html")
    server.route(f"/s/{CHANNEL}", page_of(html, messages_of(html)))
    assert cli("sources", "add", f"t.me/{CHANNEL}", "Military review", "russia")[1] == (
        f"added @{CHANNEL} (Военное обозрение): 12 new, 0 updated posts\n")
    assert cli("sources", "add", f"@{CHANNEL}") == (
        0, f"@{CHANNEL} (Военное обозрение) is already followed: 0 new, 0 updated posts\n", "")
    assert cli("sources", "add", f"@{CHANNEL}", "Military review", "russia")[1] == (
        f"@{CHANNEL} (Военное обозрение) is already followed; role and side saved: 0 new, 0 updated posts\n")
    assert cli("sources", "list")[1].count(f"@{CHANNEL}") == 1

    status, out, _ = cli("sources", "list")
    assert status == 0
    assert out.startswith(f"@{CHANNEL} (Военное обозрение) [tme, active]; last post #71008; "
                          "newest post 2023-02-28 13:14 UTC; next poll ")

    assert cli("sources", "pause", f"@{CHANNEL}")[1] == f"paused @{CHANNEL}\n"
    assert "[tme, paused]" in cli("sources", "list")[1]
    assert cli("poll", "--once")[1].startswith("no active channels or feeds to poll")
    assert cli("sources", "resume", CHANNEL)[1] == f"resumed @{CHANNEL}\n"
    assert "[tme, active]" in cli("sources", "list")[1]

    assert cli("sources", "remove", f"https://t.me/{CHANNEL}") == (0, f"removed @{CHANNEL}\n", "")
    assert cli("sources", "list")[1].startswith("no sources followed yet")
    with open_db(sqlite_url)() as session:
        from store.queries import count_rows

        counts = count_rows(session)
    assert (counts["posts"], counts["claims"], counts["incidents"]) == (0, 0, 0)

    status, _, err = cli("sources", "pause", "@nobody_here")
    assert status == 1 and err.startswith("claimwatch: no source '@nobody_here' is followed")


def test_add_refused_for_a_private_address(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer, tme_fixture: Fixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    html = tme_fixture("full.html")
    server.route(f"/s/{CHANNEL}", page_of(html, messages_of(html)))
    monkeypatch.setenv("CLAIMWATCH_ALLOW_PRIVATE_URLS", "false")

    status, out, err = cli("sources", "add", f"@{CHANNEL}")

    assert (status, out) == (1, "")
    assert err == "claimwatch: refused 127.0.0.1: it resolves to 127.0.0.1, a loopback address\n"
    assert server.requests == []


def test_following_a_rejected_channel_by_name_allows_it_again(
    cli: Callable[..., tuple[int, str, str]], server: LocalServer, tme_fixture: Fixture, sqlite_url: str
) -> None:
    from datetime import UTC, datetime

    from store.models import RejectedChannel
    from store.queries.pending import list_rejected_channels, put_rejected_channel

    cli("sources", "list")  # creates the database
    with open_db(sqlite_url).begin() as session:
        put_rejected_channel(session, RejectedChannel(chat_id=-100555, title="Военное обозрение",
                                                      username=CHANNEL.upper(), rejected_at=datetime.now(UTC)))
        put_rejected_channel(session, RejectedChannel(chat_id=-100556, title="Another", username="another_channel",
                                                      rejected_at=datetime.now(UTC)))
    html = tme_fixture("full.html")
    server.route(f"/s/{CHANNEL}", page_of(html, []))
    assert cli("sources", "add", f"@{CHANNEL}")[0] == 0
    with open_db(sqlite_url)() as session:  # /sources lists only the channel nobody followed since
        assert [row.title for row in list_rejected_channels(session)] == ["Another"]

"""Malformed Telegram Desktop exports, feeds and t.me preview pages: garbage gives either posts
or the module's one-line error, never another exception; a feed or page with some broken entries
inside, and an export read with ``strict=False``, still gives every good one; and
``claimwatch import bad.json good.json`` reports the bad file in one line, imports the good one
and exits with status 1."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.types import EARLIEST_POST, LATEST_POST, PostIn
from bot.exports import ChannelExport, ExportError, read_export
from bot.pollers.feeds import FeedError, fetch_feed, parse_feed
from bot.pollers.http import PollerError, SafeFetcher
from bot.pollers.tme import PreviewPage, TmeClient, parse_preview
from tests.badinput.update_kinds import NASTY, json_values, mutated, nasty_text
from tests.conftest import require_shared
from tests.pollers.pollers_helpers import LocalServer, Reply

KYIV = ZoneInfo("Europe/Kyiv")
FILES = settings(max_examples=50, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CLAIMWATCH = Path(sys.executable).parent / "claimwatch"


def corpus_exports() -> list[Path]:
    folder = require_shared("corpus", "dev")
    return sorted(p for p in folder.glob("*.json") if p.name not in ("gold.json", "conflicts.json"))


def assert_sound(post: PostIn) -> None:
    """What the store and the engine rely on, whatever the file said."""
    assert isinstance(post.message_id, int) and 0 <= post.message_id < 2**63
    assert isinstance(post.posted_at, datetime) and EARLIEST_POST <= post.posted_at <= LATEST_POST
    assert post.edited_at is None or isinstance(post.edited_at, datetime)
    assert isinstance(post.text, str) and post.text.strip()
    assert "\x00" not in post.text
    post.text.encode("utf-8")  # no lone surrogates
    for value in (post.url, post.forwarded_from):
        assert value is None or (isinstance(value, str) and "\x00" not in value)


def read_or_one_line(path: Path, strict: bool = True) -> ChannelExport | None:
    try:
        export = read_export(path, KYIV, strict=strict)
    except ExportError as exc:
        line = str(exc)
        assert line.startswith(str(path)) and "\n" not in line and len(line) < 600, line
        return None
    assert isinstance(export.name, str) and export.name.strip() and isinstance(export.ref, str)
    for post in export.posts:
        assert_sound(post)
    return export


# -- exports ------------------------------------------------------------------------------------


@FILES
@given(content=st.one_of(
    st.binary(max_size=3000),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.sampled_from((b"\xef\xbb\xbf{}", b'{"messages": [], "id": 1, "name": "x"}', b"[" * 50 + b"]" * 50,
                     b'{"id": 1, "name": "x", "messages": [{"id": 1e999, "date": "2022-03-01T10:00:00", "text": "a"}]}',
                     b'{"id": NaN, "name": "x", "messages": [{"id": 1, "date": "2022-03-01T10:00:00", "text": "a"}]}',
                     b'{"id": 1, "name": "\\ud800", "messages": [{"id": 1, "date": "2022-03-01", "text": "\\udfff\\u0000"}]}',
                     b'{"id": 1, "name": "x", "username": ["a"], "messages": []}')),
), strict=st.booleans())
def test_any_bytes_give_posts_or_one_line(tmp_path: Path, content: bytes, strict: bool) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    read_or_one_line(path, strict)


@FILES
@given(data=st.data(), strict=st.booleans())
def test_a_mangled_real_export_gives_posts_or_one_line(tmp_path: Path, data: st.DataObject, strict: bool) -> None:
    source = data.draw(st.sampled_from(corpus_exports()), label="export")
    document = json.loads(source.read_text(encoding="utf-8"))
    broken = data.draw(mutated(document), label="mangled")
    path = tmp_path / "result.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    read_or_one_line(path, strict)


BAD_MESSAGES = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": json_values, "type": st.just("message"), "date": json_values, "text": json_values}),
    st.fixed_dictionaries({"id": st.integers(), "type": st.just("message"),
                           "date": st.sampled_from(("9999-12-31T23:59:59", "0001-01-01T00:00:00", "yesterday",
                                                    "2022-02-30T10:00:00", "")),
                           "text": nasty_text}),
    st.fixed_dictionaries({"id": st.integers(1, 10**6), "type": st.just("message"),
                           "date_unixtime": st.sampled_from(("1e400", "-99999999999999", "99999999999999999", "x")),
                           "text": st.just("Харків")}),
    st.fixed_dictionaries({"id": st.integers(1, 10**6), "date": st.just("2022-03-01T10:00:00"),
                           "text": st.lists(st.one_of(st.text(max_size=5), json_values), min_size=1, max_size=3)}),
)


@FILES
@given(data=st.data(), bad=st.lists(BAD_MESSAGES, min_size=1, max_size=6))
def test_broken_messages_cost_nothing_of_the_good_ones(tmp_path: Path, data: st.DataObject,
                                                       bad: list[object]) -> None:
    """Read leniently, nothing valid is lost: every post of the pristine export is still read,
    whatever is mixed in (``claimwatch import`` reads so). Read strictly, the file is either read
    whole or refused in one line that names the broken message."""
    source = data.draw(st.sampled_from(corpus_exports()), label="export")
    good = read_export(source, KYIV)
    document = json.loads(source.read_text(encoding="utf-8"))
    for message in bad:
        document["messages"].insert(data.draw(st.integers(0, len(document["messages"]))), message)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    export = read_or_one_line(path, strict=False)
    assert export is not None, "a good export with some broken messages is still an export"
    read = {(p.message_id, p.text, p.posted_at) for p in export.posts}
    assert {(p.message_id, p.text, p.posted_at) for p in good.posts} <= read
    try:
        whole = read_export(path, KYIV)
    except ExportError as exc:
        assert re.match(rf"{re.escape(str(path))}: message #\d+: ", str(exc)), str(exc)
    else:
        assert {(p.message_id, p.text, p.posted_at) for p in whole.posts} == read


def test_a_broken_message_is_counted_and_named(tmp_path: Path) -> None:
    source = corpus_exports()[0]
    document = json.loads(source.read_text(encoding="utf-8"))
    document["messages"][1:1] = [{"id": 7777, "type": "message", "text": "no date"}, "junk"]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    export = read_export(path, KYIV, strict=False)
    assert export.malformed == 2 and len(export.posts) == len(read_export(source, KYIV).posts)
    assert export.first_problem == "message #2: missing 'date'"
    with pytest.raises(ExportError, match=r"message #2: missing 'date'$"):
        read_export(path, KYIV)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLAIMWATCH), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


def test_cli_import_reports_the_bad_file_and_imports_the_good_one(tmp_path: Path) -> None:
    good = corpus_exports()[0]
    expected = len(read_export(good, KYIV).posts)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "messages": [', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    done = run_cli("--db", db, "import", str(bad), str(good))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and "not valid JSON" in lines[0], done.stderr
    assert f"posts: {expected} new" in done.stdout
    report = run_cli("--db", db, "report", "--json")
    assert report.returncode == 0
    claims = [c for i in json.loads(report.stdout)["incidents"] for c in i["claims"]]
    assert claims, "the good file's claims are in the database"


def test_cli_import_of_json_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    """Run in a process of its own: a RecursionError inside the json module upsets CPython 3.11's
    recursion bookkeeping for the rest of the process (pytest itself would fail afterwards)."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    done = run_cli("--db", f"sqlite:///{tmp_path / 'cli.db'}", "import", str(deep))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "deep.json" in lines[0] and "nested too deeply" in lines[0], done.stderr


def test_cli_import_keeps_the_readable_posts_of_a_partly_broken_file(tmp_path: Path) -> None:
    """A broken message costs only itself: ``claimwatch import`` names the file in one line,
    exits with status 1, and stores the file's readable posts and the other file."""
    good = corpus_exports()[0]
    document = json.loads(good.read_text(encoding="utf-8"))
    document["messages"].append({"id": 10**30, "type": "message", "date": "2022-03-01T10:00:00", "text": "x"})
    partly = tmp_path / "partly.json"
    partly.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    done = run_cli("--db", db, "import", str(partly), str(corpus_exports()[1]))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "partly.json" in lines[0] and "1 malformed message" in lines[0], done.stderr
    report = json.loads(run_cli("--db", db, "report", "--json").stdout)
    sources = {c["source"] for i in report["incidents"] for c in i["claims"]}
    other = json.loads(corpus_exports()[1].read_text(encoding="utf-8"))["name"]
    assert {other, document["name"]} <= sources  # both files have claims


# -- feeds --------------------------------------------------------------------------------------

DATES = st.one_of(st.sampled_from(("Tue, 01 Mar 2022 10:00:00 GMT", "2022-03-01T10:00:00Z", "Fri, 31 Dec 9999 23:59:59 +0000",
                                   "Mon, 01 Jan 0001 00:00:00 -1400", "yesterday", "", "2022-13-45", "1e999")),
                  st.text(max_size=30))
FIELD_TEXT = st.one_of(nasty_text, st.sampled_from(("<b>x</b>", "&amp;", "&nbsp;", "&unknown;", "<![CDATA[<b>c</b>]]>",
                                                    "&lt;script&gt;", "]]>", "<", "&")),
                       st.sampled_from(NASTY).map(lambda piece: piece * 20_000))


@st.composite
def feed_documents(draw: st.DrawFn) -> bytes:
    def esc(value: str) -> str:
        return draw(st.sampled_from((value, value.replace("&", "&amp;").replace("<", "&lt;"),
                                     f"<![CDATA[{value}]]>")))

    entries = []
    atom = draw(st.booleans())
    for _ in range(draw(st.integers(0, 4))):
        title, body, date, guid = (esc(draw(FIELD_TEXT)), esc(draw(FIELD_TEXT)), draw(DATES), esc(draw(FIELD_TEXT)))
        link = draw(st.sampled_from(("https://x.org/a", "javascript:alert(1)", "/relative", "", "http://[::1")))
        if atom:
            entries.append(f"<entry><title>{title}</title><content type='html'>{body}</content><updated>{date}</updated>"
                           f"<id>{guid}</id><link href='{link}'/></entry>")
        else:
            entries.append(f"<item><title>{title}</title><description>{body}</description><pubDate>{date}</pubDate>"
                           f"<guid>{guid}</guid><link>{link}</link></item>")
    head = draw(st.sampled_from(('<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="koi8-r"?>',
                                 "", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>')))
    title = esc(draw(FIELD_TEXT))
    if atom:
        doc = f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>{"".join(entries)}</feed>'
    else:
        doc = f'{head}<rss version="2.0"><channel><title>{title}</title>{"".join(entries)}</channel></rss>'
    cut = draw(st.one_of(st.none(), st.integers(0, len(doc))))
    return doc[:cut].encode("utf-8", "surrogatepass") if cut is not None else doc.encode("utf-8")


@FILES
@given(content=st.one_of(st.binary(max_size=2000), feed_documents()),
       content_type=st.sampled_from((None, "application/rss+xml", "text/xml; charset=utf-16", "text/html; charset=idna",
                                     "application/xml; charset=nonsense")))
def test_any_feed_gives_posts_or_one_line(content: bytes, content_type: str | None) -> None:
    try:
        title, posts, skipped = parse_feed(content, "https://feeds.example.org/rss", content_type)
    except FeedError as exc:
        assert "\n" not in str(exc) and "feeds.example.org" in str(exc)
        return
    assert title is None or (isinstance(title, str) and "\x00" not in title)
    assert skipped >= 0
    for post in posts:
        assert_sound(post)
        assert "root:" not in post.text, "an external entity was read from the disk"


def test_a_feed_with_broken_entries_keeps_the_good_ones() -> None:
    good = [f"<item><title>Обстріл Харкова {n}</title><description>2 загиблих</description>"
            f"<pubDate>Tue, 01 Mar 2022 1{n}:00:00 GMT</pubDate><guid>g{n}</guid></item>" for n in range(3)]
    broken = ["<item><title>no date</title></item>", "<item><pubDate>Tue, 01 Mar 2022 10:00:00 GMT</pubDate></item>",
              "<item><title>far future</title><pubDate>Fri, 31 Dec 9999 23:59:59 +0000</pubDate></item>"]
    items = [good[0], broken[0], good[1], broken[1], broken[2], good[2]]
    doc = f'<rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>'.encode()
    _, posts, skipped = parse_feed(doc, "https://feeds.example.org/rss")
    assert [p.text.splitlines()[0] for p in posts] == [f"Обстріл Харкова {n}" for n in range(3)]
    assert skipped == 3


# -- t.me previews ------------------------------------------------------------------------------


def preview_pages() -> list[str]:
    folder = require_shared("fixtures", "tme_preview")
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))]


def assert_page(page: PreviewPage) -> None:
    assert page.skipped >= 0
    assert page.title is None or ("\x00" not in page.title)
    for post in page.posts:
        assert_sound(post)
        assert post.url is not None and post.url.startswith("https://t.me/")
    if page.posts:
        assert page.min_id is not None and page.min_id <= min(p.message_id for p in page.posts)


@FILES
@given(html=st.one_of(st.text(max_size=3000), nasty_text,
                      st.lists(st.sampled_from(('<div class="tgme_widget_message" data-post="c/1">',
                                                '<div class="tgme_widget_message_text">', "</div>", "<br>",
                                                '<time datetime="9999-12-31T23:59:59+00:00">',
                                                '<time datetime="2022-03-01T10:00:00+00:00">',
                                                '<a class="tgme_widget_message_date">', "Харків", "\x00", "&amp;",
                                                '<div class="tgme_widget_message" data-post="/99999999999999999999999">',
                                                '<div class="tgme_widget_message_info">')), max_size=40).map("".join)))
def test_any_html_gives_a_preview_page(html: str) -> None:
    assert_page(parse_preview(html, "somechannel"))


@FILES
@given(data=st.data())
def test_a_mangled_real_preview_page_gives_a_page(data: st.DataObject) -> None:
    page = data.draw(st.sampled_from(preview_pages()), label="page")
    mangle = data.draw(st.sampled_from(("cut", "attribute", "inject", "datetime")), label="how")
    if mangle == "cut":
        page = page[: data.draw(st.integers(0, len(page)))]
    elif mangle == "attribute":
        names = sorted(set(re.findall(r'\s([a-z-]+)="', page))) or ["class"]
        name = data.draw(st.sampled_from(names))
        page = re.sub(rf'\s{name}="[^"]*"', data.draw(st.sampled_from(("", f' {name}=""', f' {name}="\x00<>"'))), page)
    elif mangle == "inject":
        spot = data.draw(st.integers(0, len(page)))
        page = page[:spot] + data.draw(nasty_text) + page[spot:]
    else:
        page = re.sub(r'datetime="[^"]*"', f'datetime="{data.draw(DATES)}"', page)
    assert_page(parse_preview(page, "somechannel"))


def test_a_broken_bubble_costs_nothing_of_the_others() -> None:
    full = require_shared("fixtures", "tme_preview", "full.html").read_text(encoding="utf-8")
    good = parse_preview(full, "somechannel")
    assert len(good.posts) >= 3
    victim = good.posts[1].message_id
    broken = re.sub(rf'(data-post="[^"/]+/{victim}")(.*?)datetime="[^"]*"', r'\1\2datetime="yesterday"', full,
                    count=1, flags=re.S)
    assert broken != full
    page = parse_preview(broken, "somechannel")
    assert [p.message_id for p in page.posts] == [p.message_id for p in good.posts if p.message_id != victim]
    assert page.skipped == good.skipped + 1


@pytest.fixture
def http_server():  # type: ignore[no-untyped-def]
    server = LocalServer()
    server.start()
    yield server
    server.stop()


@FILES
@given(body=st.one_of(st.binary(max_size=500), st.sampled_from((b"\xff\xfe<rss>", b"<html>\x00</html>"))),
       content_type=st.sampled_from(("text/html; charset=idna", "text/html; charset=undefined",
                                     "text/html; charset=utf-8", "application/rss+xml; charset=rot13",
                                     "text/html; charset=unicode_escape")))
def test_fetched_garbage_gives_a_page_or_a_poller_error(http_server: LocalServer, body: bytes,
                                                        content_type: str) -> None:
    http_server.route("/s/somechannel", Reply(200, body, {"Content-Type": content_type}))
    http_server.route("/feed", Reply(200, body, {"Content-Type": content_type}))

    async def fetch_both() -> None:
        async with SafeFetcher(allow_private=True, timeout=10) as fetcher:
            try:
                assert_page(await TmeClient(fetcher, http_server.url("")).fetch_page("somechannel"))
            except PollerError as exc:
                assert "\n" not in str(exc)
            try:
                result = await fetch_feed(fetcher, http_server.url("/feed"))
                for post in result.posts:
                    assert_sound(post)
            except PollerError as exc:
                assert "\n" not in str(exc)

    asyncio.run(fetch_both())



@pytest.mark.parametrize("url", ["foo", "sqlite:///{tmp}/no/such/folder/x.db"])
def test_a_mistyped_database_is_refused_not_created(tmp_path: Path, monkeypatch, capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    """`--db foo` and a path into missing folders are one-line errors; nothing appears on disk."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["sources", "list", "--db", url.format(tmp=tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("not a database URL" in err or "does not exist" in err)
    assert list(tmp_path.iterdir()) == []


def test_the_database_url_is_taken_after_any_subcommand(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    assert main(["sources", "list", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 0
    assert (tmp_path / "x.db").exists()

"""SafeFetcher against a real local server: address and scheme refusals, caps, redirects, 304."""

from __future__ import annotations

import ipaddress
import ssl

import pytest
from pollers_helpers import LocalServer, Reply, Request

from bot.pollers.http import FetchError, SafeFetcher, refusal_reason


@pytest.mark.asyncio
async def test_refuses_loopback_when_private_not_allowed(server: LocalServer) -> None:
    server.route("/ok", Reply(200, b"hello"))
    async with SafeFetcher(allow_private=False) as fetcher:
        with pytest.raises(FetchError, match=r"refused 127\.0\.0\.1: .*a loopback address"):
            await fetcher.get(server.url("/ok"))
    assert server.requests == []  # refused before connecting


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["[::1]", "0.0.0.0", "[::ffff:127.0.0.1]", "2130706433",
                                  "[2002:7f00:1::]", "[64:ff9b::7f00:1]"])
async def test_refuses_other_spellings_of_this_machine(server: LocalServer, host: str) -> None:
    async with SafeFetcher(allow_private=False) as fetcher:
        with pytest.raises(FetchError, match="refused"):
            await fetcher.get(f"http://{host}:{server.port}/")
    assert server.requests == []


@pytest.mark.asyncio
async def test_sends_no_cookies_back(server: LocalServer) -> None:
    server.route("/set", Reply(200, b"", {"Set-Cookie": "stel_ssid=abc; Path=/"}))
    server.route("/next", Reply(200, b""))
    async with SafeFetcher(allow_private=True) as fetcher:
        await fetcher.get(server.url("/set"))
        await fetcher.get(server.url("/next"))
    assert "cookie" not in server.requests_to("/next")[0].headers


@pytest.mark.asyncio
async def test_refuses_a_name_that_resolves_to_loopback(server: LocalServer) -> None:
    server.route("/ok", Reply(200, b"hello"))
    async with SafeFetcher(allow_private=False) as fetcher:
        with pytest.raises(FetchError, match="refused localhost: it resolves to"):
            await fetcher.get(server.url("/ok", host="localhost"))
    assert server.requests == []


@pytest.mark.asyncio
async def test_accepts_loopback_when_private_allowed(server: LocalServer) -> None:
    server.route("/ok", Reply(200, b"hello", {"Content-Type": "text/plain; charset=utf-8"}))
    async with SafeFetcher(allow_private=True) as fetcher:
        result = await fetcher.get(server.url("/ok"))
    assert (result.status, result.content, result.text) == (200, b"hello", "hello")
    assert result.url == server.url("/ok")
    assert not result.not_modified
    assert server.requests_to("/ok")[0].headers["user-agent"].startswith("claimwatch/0.1")


@pytest.mark.asyncio
async def test_pinned_connection_keeps_the_host_header(server: LocalServer) -> None:
    """The request goes to the vetted IP, but the server still sees the name in Host."""
    server.route("/ok", Reply(200, b"hello"))
    async with SafeFetcher(allow_private=True) as fetcher:
        result = await fetcher.get(server.url("/ok", host="localhost"))
    assert result.content == b"hello"
    assert server.requests_to("/ok")[0].headers["host"] == f"localhost:{server.port}"


@pytest.mark.asyncio
async def test_https_is_verified_against_the_name_not_the_pinned_ip(
    tls_server: tuple[LocalServer, ssl.SSLContext],
) -> None:
    local, trust = tls_server
    local.route("/ok", Reply(200, b"secure"))
    async with SafeFetcher(allow_private=True, verify=trust) as fetcher:
        result = await fetcher.get(local.url("/ok", host="localhost"))
        assert result.content == b"secure"
        # The certificate names localhost only: by IP the check must fail.
        with pytest.raises(FetchError, match="cannot connect|cannot fetch"):
            await fetcher.get(local.url("/ok"))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("149.154.167.99", None),
        ("2001:67c:4e8:f004::9", None),
        # IPv6 forms that carry an IPv4 address are judged by it too
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254 (cloud metadata)
        ("2002:c0a8:a::", "private"),  # 6to4 of 192.168.0.10
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::a00:1", "private"),  # local-use NAT64 of 10.0.0.1
        ("2001:0:7f00:1:0:f227:80ff:fffe", "loopback"),  # Teredo, server 127.0.0.1
        ("2002:9519:a763::1", None),  # 6to4 of a public address stays public
    ],
)
def test_refusal_reason(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/", "javascript:x"]
)
async def test_refuses_other_schemes(url: str) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError, match="only http and https"):
            await fetcher.get(url)


@pytest.mark.asyncio
async def test_refuses_redirect_to_another_scheme(server: LocalServer) -> None:
    server.route("/to-file", Reply(302, headers={"Location": "file:///etc/passwd"}))
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError, match=r"refused file:///etc/passwd"):
            await fetcher.get(server.url("/to-file"))


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["content-length", "streamed"])
async def test_size_cap(server: LocalServer, stream: bool) -> None:
    server.route("/big", Reply(200, b"x" * 200_000, stream=stream))
    server.route("/fits", Reply(200, b"y" * 10_000, stream=stream))
    async with SafeFetcher(allow_private=True, max_bytes=10_000) as fetcher:
        with pytest.raises(FetchError, match="response larger than 10000 bytes"):
            await fetcher.get(server.url("/big"))
        assert len((await fetcher.get(server.url("/fits"))).content) == 10_000


@pytest.mark.asyncio
async def test_redirect_loop_stops_at_the_limit(server: LocalServer) -> None:
    server.route("/loop", Reply(302, headers={"Location": "/loop"}))
    async with SafeFetcher(allow_private=True, max_redirects=5) as fetcher:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
            await fetcher.get(server.url("/loop"))
    assert len(server.requests_to("/loop")) == 6  # the first request and five redirects


@pytest.mark.asyncio
async def test_follows_redirects_within_the_limit(server: LocalServer) -> None:
    server.route("/a", Reply(301, headers={"Location": "/b"}))
    server.route("/b", Reply(307, headers={"Location": server.url("/c")}))
    server.route("/c", Reply(302, headers={"Location": "d?x=1"}))
    server.route("/d", Reply(200, b"landed"))
    async with SafeFetcher(allow_private=True, max_redirects=3) as fetcher:
        result = await fetcher.get(server.url("/a"))
        assert (result.status, result.content) == (200, b"landed")
        assert result.url == server.url("/d?x=1")
        tight = SafeFetcher(allow_private=True, max_redirects=2)
        try:
            with pytest.raises(FetchError, match="too many redirects"):
                await tight.get(server.url("/a"))
        finally:
            await tight.aclose()


@pytest.mark.asyncio
async def test_timeout(server: LocalServer) -> None:
    server.route("/slow", Reply(200, b"late", delay=2.0))
    async with SafeFetcher(allow_private=True, timeout=0.3) as fetcher:
        with pytest.raises(FetchError, match=r"timed out after 0\.3s"):
            await fetcher.get(server.url("/slow"))


@pytest.mark.asyncio
async def test_conditional_get_gives_not_modified(server: LocalServer) -> None:
    etag, stamp = '"v1"', "Tue, 28 Feb 2023 08:48:01 GMT"

    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, b"<rss/>", {"ETag": etag, "Last-Modified": stamp})

    server.route("/feed", feed)
    async with SafeFetcher(allow_private=True) as fetcher:
        first = await fetcher.get(server.url("/feed"))
        assert (first.status, first.etag, first.last_modified) == (200, etag, stamp)
        second = await fetcher.get(server.url("/feed"), etag=first.etag, last_modified=stamp)
    assert second.not_modified and second.content == b""
    sent = server.requests_to("/feed")[1].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == (etag, stamp)
    assert "if-none-match" not in server.requests_to("/feed")[0].headers


@pytest.mark.asyncio
async def test_error_status_is_returned_and_raises_on_demand(server: LocalServer) -> None:
    server.route("/gone", Reply(503, b"down"))
    async with SafeFetcher(allow_private=True) as fetcher:
        result = await fetcher.get(server.url("/gone"))
    assert result.status == 503
    with pytest.raises(FetchError, match="HTTP 503 from") as caught:
        result.raise_for_status()
    assert caught.value.status == 503


@pytest.mark.asyncio
async def test_unreachable_port_is_a_fetch_error(server: LocalServer) -> None:
    port = server.port
    server.stop()
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError, match="cannot connect to 127.0.0.1"):
            await fetcher.get(f"http://127.0.0.1:{port}/")

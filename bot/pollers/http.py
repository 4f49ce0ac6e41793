"""A guarded HTTP client for the pollers: scheme and address checks, size cap, manual redirects.

Every URL a poller fetches comes from a user (a channel name, a feed address), so the client
refuses anything that could reach the bot's own network: only ``http``/``https``, and every
host (the first one and every redirect hop) is resolved and refused when any of its addresses
is loopback, private, link-local, multicast, reserved, unspecified or otherwise not global,
unless ``allow_private`` is set (tests, self-hosted feeds on a LAN).

The connection goes to the very address that was checked (the URL's host is replaced by the
vetted IP, the ``Host`` header and TLS SNI keep the real name, and certificates are verified
against the real name), so a DNS answer that changes between the check and the connect cannot
smuggle a private address in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self
from urllib.parse import urljoin

import httpx

from config.settings import redact_urls

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_USER_AGENT = "claimwatch/0.1 (+https://github.com/claimwatch)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PollerError(Exception):
    """Base of every error a poller raises; ``str(exc)`` is one line fit for a user, with the
    credentials and key-like query parameters of any URL in it masked."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(redact_urls(str(message)), *args)


class FetchError(PollerError):
    """A URL could not be fetched (refused, unreachable, too large, too slow, HTTP error).

    ``status`` is the HTTP status when the server answered with an error status, else None.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one GET returned after redirects.

    ``url`` is the final URL (after redirects); ``headers`` has lower-case names;
    ``not_modified`` is True for a 304 answer to a conditional request (``content`` is empty).
    """

    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def ok(self) -> bool:
        """True for 2xx and 304."""
        return 200 <= self.status < 300 or self.status == 304

    @property
    def text(self) -> str:
        """The body decoded with the charset the server named, else UTF-8 (bad bytes replaced)."""
        charset = "utf-8"
        for part in (self.content_type or "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except (LookupError, ValueError):
            # an unknown charset, or one that cannot replace bad bytes ("idna", "undefined")
            return self.content.decode("utf-8", errors="replace")

    def raise_for_status(self) -> None:
        """Raise FetchError unless the answer is 2xx or 304."""
        if not self.ok:
            raise FetchError(f"HTTP {self.status} from {self.url}", status=self.status)


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address must not be fetched from, or None when it is a public address.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:127.0.0.1``, 6to4
    ``2002:7f00:1::``, Teredo ``2001::/32``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``) are
    judged by the IPv4 address they carry as well: a gateway would deliver them there.
    """
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in embedded_ipv4(address):
            reason = refusal_reason(embedded)
            if reason is not None:
                return reason
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


_NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo server and client, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in prefix for prefix in _NAT64_PREFIXES):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


class SafeFetcher:
    """An async HTTP GET client with the guards described in the module docstring.

    Args:
        allow_private: accept hosts that resolve to loopback/private/... addresses.
        timeout: seconds for the whole ``get`` (DNS, every redirect hop and the body).
        max_bytes: the largest body accepted (counted after content decoding).
        max_redirects: redirects followed before giving up.
        user_agent: the ``User-Agent`` header sent.
        verify: TLS verification, passed to httpx (an ``ssl.SSLContext`` in tests).

    Use as ``async with SafeFetcher(...) as fetcher`` or call ``aclose()`` when done.
    """

    def __init__(
        self,
        allow_private: bool,
        timeout: float = 10,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects not negative")
        self.allow_private = allow_private
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            trust_env=False,  # a proxy from the environment would bypass the address checks
            # No cookies: requests go to pinned IPs, so a jar could mix up sites sharing one.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            verify=verify,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, following redirects by hand and checking every hop.

        Args:
            url: an http or https URL.
            etag: a previous ``ETag``, sent as ``If-None-Match``.
            last_modified: a previous ``Last-Modified``, sent as ``If-Modified-Since``.

        Returns:
            The final answer, whatever its status (see ``FetchResult.raise_for_status``).

        Raises:
            FetchError: refused scheme or address, too many redirects, body over the cap,
                timeout, or a network error.
        """
        try:
            async with asyncio.timeout(self.timeout):
                return await self._get(url, etag=etag, last_modified=last_modified)
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g}s fetching {url}") from None

    async def _get(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.max_redirects + 1):
            result = await self._get_one(current, headers)
            location = result.headers.get("location")
            if result.status not in REDIRECT_STATUSES or not location:
                logger.debug("GET %s -> %s (%d bytes)", url, result.status, len(result.content))
                return result
            current = urljoin(current, location.strip())
            logger.debug("redirect %s -> %s", result.url, current)
        raise FetchError(f"too many redirects (more than {self.max_redirects}) fetching {url}")

    async def _get_one(self, url: str, headers: dict[str, str]) -> FetchResult:
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL {url!r}: {exc}") from None
        if target.scheme not in ALLOWED_SCHEMES:
            raise FetchError(f"refused {url}: only http and https URLs are fetched")
        if not target.host:
            raise FetchError(f"invalid URL {url!r}: no host")
        addresses = await self._vetted_addresses(target)
        last_error: httpx.ConnectError | None = None
        for address in addresses:
            try:
                return await self._request(target, address, headers)
            except httpx.ConnectError as exc:  # try the host's next address
                last_error = exc
        raise FetchError(f"cannot connect to {target.host}: {last_error}")

    async def _vetted_addresses(self, target: httpx.URL) -> list[IPAddress]:
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise FetchError(f"cannot resolve {host}: no addresses")
        if not self.allow_private:
            for address in addresses:
                reason = refusal_reason(address)
                if reason:
                    raise FetchError(
                        f"refused {host}: it resolves to {address}, a {reason} address"
                    )
        return addresses

    async def _request(
        self, target: httpx.URL, address: IPAddress, headers: dict[str, str]
    ) -> FetchResult:
        pinned = target.copy_with(host=str(address))
        request_headers = {**headers, "Host": target.netloc.decode("ascii")}
        host = target.raw_host.decode("ascii")
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        request = self._client.build_request(
            "GET", pinned, headers=request_headers, extensions=extensions
        )
        url = str(target)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.ConnectError:
            raise
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.timeout:g}s fetching {url}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {exc or type(exc).__name__}") from None
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"response larger than {self.max_bytes} bytes from {url}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"response larger than {self.max_bytes} bytes from {url}")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.timeout:g}s fetching {url}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {exc or type(exc).__name__}") from None
        finally:
            await response.aclose()
        return FetchResult(
            url=url,
            status=response.status_code,
            content=b"".join(chunks),
            headers={name.lower(): value for name, value in response.headers.items()},
        )

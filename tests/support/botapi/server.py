"""The server itself: tornado on 127.0.0.1 in its own thread, request dispatch, and the pytest fixture."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web


from tests.support.botapi.types import JSONDict, OutageMode
from tests.support.botapi.common import (
    ApiError,
    DEFAULT_BOT_USERNAME,
    DEFAULT_TOKEN,
    UploadedFile,
    _Fault,
    _NO_OP_METHODS,
    _RateLimit,
    _StoredFile,
    _bad_request,
    _running_loop,
    _typed_param,
)
from tests.support.botapi.updates import UpdatesMixin
from tests.support.botapi.records import RecordsMixin
from tests.support.botapi.faults import FaultsMixin
from tests.support.botapi.methods import MethodsMixin

logger = logging.getLogger(__name__)


class BotApiServer(UpdatesMixin, RecordsMixin, FaultsMixin, MethodsMixin):
    """A Telegram Bot API server on 127.0.0.1 for one bot, run in a background thread.

    Use as a context manager (``with BotApiServer() as server:``), through the
    ``botapi_server`` pytest fixture, or with ``start()``/``stop()``. All public methods are
    thread-safe and may be called from any thread; the blocking ones (``wait_for``,
    ``wait_for_sent``, ``post_webhook``) refuse to run inside an event loop and have
    ``*_async`` twins for async tests.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        *,
        bot_first_name: str = "Claimwatch Test Bot",
        strict_ampersand: bool = True,
        latency: float = 0.0,
    ) -> None:
        """Prepare a server (not started yet).

        Args:
            token: The only token accepted; its numeric part is the bot's user id.
            bot_username: The bot's username, without ``@``.
            bot_first_name: The bot's display name.
            strict_ampersand: Refuse a bare ``&`` in HTML text (see ``parse_html``).
            latency: Seconds every API call except ``getUpdates`` waits before answering
                (for benchmarks).
        """
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("token must look like '<bot id>:<secret>'")
        self._token = token
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.strict_ampersand = strict_ampersand
        self.latency = latency

        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = False
        self.port = 0

        # updates waiting for getUpdates / the webhook
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(100_001)
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        # webhook
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status or 0)
        # chats, users, messages
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._admins: dict[int, tuple[int | None, list[int]]] = {}
        self._blocked: dict[int, str] = {}
        self._left: set[int] = set()
        self._callback_ids: set[str] = set()
        self._callback_counter = itertools.count(1)
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        # records
        self._calls: list[tuple[str, JSONDict]] = []
        self._sent: list[JSONDict] = []
        self._callback_answers: list[JSONDict] = []
        self._server_errors: list[str] = []
        self._too_many_requests = 0
        # faults
        self._faults: list[_Fault] = []
        self._outage: OutageMode | None = None
        self._outage_retry_after = 1
        self._rate: _RateLimit | None = None

        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "leaveChat": self._leave_chat,
            "getFile": self._get_file,
        }
        for name in _NO_OP_METHODS:
            self._methods[name] = self._no_op
        self._canonical = {name.lower(): name for name in self._methods}

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants: requests go to ``base_url + token + "/" + method``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url`` wants, for downloading files the bot uploaded."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The bot token the server accepts."""
        return self._token

    @property
    def bot_id(self) -> int:
        """The bot's user id."""
        return int(self.bot_user["id"])

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("BotApiServer is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="botapi-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("BotApiServer did not start within 10 s")
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("BotApiServer failed to start") from failure[0]
        logger.debug("Bot API test server listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving: release held requests, close connections, join the thread."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError("BotApiServer thread did not stop within 10 s")
        self._thread = None
        self._loop = None
        self._stop_event = None

    def __enter__(self) -> BotApiServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            ready.set()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop_event = asyncio.Event()
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z_]+)/?", _ApiHandler, {"server": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"server": self}),
                (r".*", _NotFoundHandler),
            ],
            log_function=self._log_request,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        http_server = tornado.httpserver.HTTPServer(app)
        http_server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        client = httpx.AsyncClient(timeout=5)
        delivery = asyncio.create_task(self._deliver_webhook_updates(client))
        ready.set()
        try:
            await self._stop_event.wait()
        finally:
            self._closing = True
            http_server.stop()
            self._wake_all()
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            await asyncio.sleep(0.01)  # let woken handlers answer
            try:
                await asyncio.wait_for(http_server.close_all_connections(), timeout=3)
            except TimeoutError:
                logger.warning("Bot API test server: connections did not close in time")
            await client.aclose()

    def _log_request(self, handler: tornado.web.RequestHandler) -> None:
        # Replaces tornado's access log, which would print the token in the URI.
        method = getattr(handler, "api_method", None) or "-"
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            handler.request.method,
            method,
            handler.get_status(),
            1000.0 * handler.request.request_time(),
        )

    # -- waking waiters ------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake long polls, held requests and the webhook sender after a state change."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if _running_loop() is loop:
                self._wake_all()
            else:
                loop.call_soon_threadsafe(self._wake_all)
        except RuntimeError:  # loop closed between the check and the call
            pass

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_change(self, timeout: float | None, gone: asyncio.Event | None = None) -> None:
        """Wait (in the server loop) until ``_wake_all`` runs, ``gone`` is set or time is up."""
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.add(waiter)
        waits: list[asyncio.Future[Any]] = [waiter]
        gone_task: asyncio.Task[bool] | None = None
        if gone is not None:
            gone_task = asyncio.ensure_future(gone.wait())
            waits.append(gone_task)
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiters.discard(waiter)
            if gone_task is not None:
                gone_task.cancel()

    # -- request dispatch (server loop) ----------------------------------------------------------

    async def _dispatch(
        self,
        token: str,
        raw_method: str,
        params: JSONDict,
        gone: asyncio.Event,
    ) -> tuple[int, JSONDict]:
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return 401, ApiError(401, "Unauthorized").payload()
        method = self._canonical.get(raw_method.lower())
        if method is None:
            return 404, ApiError(404, "Not Found").payload()
        with self._lock:
            self._calls.append((method, params))
        try:
            if self.latency and method != "getUpdates":
                await asyncio.sleep(self.latency)
            await self._apply_outage(gone)
            self._apply_faults(method, params)
            result = self._methods[method](params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            if error.error_code == 429:
                with self._lock:
                    self._too_many_requests += 1
            return error.error_code, error.payload()
        except Exception as exc:  # a bug in the server: answer 500 and keep it
            logger.exception("Bot API test server failed in %s", method)
            with self._lock:
                self._server_errors.append(f"{method}: {exc!r}")
            return 500, ApiError(500, "Internal Server Error").payload()
        return 200, {"ok": True, "result": result}


# tornado handlers
# ---------------------------------------------------------------------------------------------


class _BaseHandler(tornado.web.RequestHandler):
    """Shared pieces: JSON answers and logging that never shows the token."""

    api_method: str | None = None

    def _request_summary(self) -> str:
        return f"{self.request.method} <redacted path> ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        logger.error(
            "Bot API test server: error in %s",
            self.api_method or "request",
            exc_info=(typ, value, tb),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self._write_json(status_code, ApiError(status_code, self._reason or "Error").payload())

    def _write_json(self, status: int, payload: JSONDict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, ensure_ascii=False))


class _ApiHandler(_BaseHandler):
    """``/bot<token>/<method>``: parse the body Telegram's way and dispatch."""

    def initialize(self, server: BotApiServer) -> None:
        self.server = server
        self.gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self.gone.set()

    async def get(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def _handle(self, token: str, method: str) -> None:
        self.api_method = method
        try:
            params = self._params()
        except ApiError as error:
            self._write_json(error.error_code, error.payload())
            return
        status, payload = await self.server._dispatch(token, method, params, self.gone)
        if self.gone.is_set():
            # The client gave up (a cancelled long poll, a read timeout): nothing to answer.
            self.set_status(499, "Client Closed Request")
            return
        self._write_json(status, payload)

    def _params(self) -> JSONDict:
        raw: JSONDict = {}
        for name, values in self.request.query_arguments.items():
            raw[name] = values[-1].decode("utf-8", "replace")
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            if self.request.body:
                try:
                    body = json.loads(self.request.body)
                except ValueError:
                    raise _bad_request("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise _bad_request("JSON body must be an object")
                raw.update(body)
        else:
            for name, values in self.request.body_arguments.items():
                raw[name] = values[-1].decode("utf-8", "replace")
        files = {
            name: UploadedFile(name, parts[-1].filename, parts[-1].content_type, parts[-1].body)
            for name, parts in self.request.files.items()
        }
        params: JSONDict = {}
        for name, value in raw.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value.removeprefix("attach://"))
                if attached is None:
                    raise _bad_request(f"file {value} not found in the request")
                params[name] = attached
            else:
                params[name] = _typed_param(name, value)
        for name, upload in files.items():
            if name not in params and not name.startswith("attached"):
                params[name] = upload
        return params


class _FileHandler(_BaseHandler):
    """``/file/bot<token>/<file_path>``: downloads of files the bot uploaded."""

    def initialize(self, server: BotApiServer) -> None:
        self.server = server

    def get(self, token: str, file_path: str) -> None:
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._write_json(401, ApiError(401, "Unauthorized").payload())
            return
        with self.server._lock:
            stored = next(
                (f for f in self.server._files.values() if f.file_path == file_path), None
            )
        if stored is None:
            self._write_json(404, ApiError(404, "Not Found").payload())
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(stored.data)


class _NotFoundHandler(_BaseHandler):
    """Anything else: Telegram's 404."""

    def prepare(self) -> None:
        self._write_json(404, ApiError(404, "Not Found").payload())


# ---------------------------------------------------------------------------------------------


# pytest fixture
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def botapi_server() -> Iterator[BotApiServer]:
    """A running ``BotApiServer``, stopped after the test.

    Make it available with ``from tests.support.botapi import botapi_server`` in a conftest.
    """
    with BotApiServer() as server:
        yield server

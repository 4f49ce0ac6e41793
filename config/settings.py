"""Settings read once at the entry point from the environment and an optional ``.env`` file."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
DEFAULT_TIMEZONE = "Europe/Kyiv"  # subscribers' and export times' zone unless CLAIMWATCH_TIMEZONE says otherwise


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line that names the setting."""


def default_database_url() -> str:
    """The embedded default: a SQLite file in the per-user data directory."""
    data_dir = Path(platformdirs.user_data_dir("claimwatch"))
    return f"sqlite:///{data_dir / 'claimwatch.db'}"


class Settings(BaseSettings):
    """Everything claimwatch reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="CLAIMWATCH_ADMIN_IDS"
    )
    database_url: str = Field(default_factory=default_database_url, alias="CLAIMWATCH_DATABASE_URL")
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="CLAIMWATCH_TELEGRAM_API_URL")
    timezone: str = Field(default=DEFAULT_TIMEZONE, alias="CLAIMWATCH_TIMEZONE")
    tme_url: str = Field(default="https://t.me", alias="CLAIMWATCH_TME_URL")
    allow_private_urls: bool = Field(default=False, alias="CLAIMWATCH_ALLOW_PRIVATE_URLS")
    webhook_secret: SecretStr | None = Field(default=None, alias="CLAIMWATCH_WEBHOOK_SECRET")
    log_level: str = Field(default="INFO", alias="CLAIMWATCH_LOG_LEVEL")
    cache_dir: Path | None = Field(default=None, alias="CLAIMWATCH_CACHE_DIR")
    # digests and alerts as Telegram's paid broadcasts (charged in Stars), paced up to broadcast_rate a second
    paid_broadcast: bool = Field(default=False, alias="CLAIMWATCH_PAID_BROADCAST")
    broadcast_rate: float = Field(default=1000.0, gt=0, le=1000, alias="CLAIMWATCH_BROADCAST_RATE")
    # false when `claimwatch worker` processes poll the channels and feeds (PostgreSQL): the bot then only
    # reads Telegram updates and sends
    poll_in_bot: bool = Field(default=True, alias="CLAIMWATCH_POLL_IN_BOT")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890") from None
        return value

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not _TOKEN_RE.match(value):
                raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Kyiv") from None
        return value

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_url", "tme_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str) -> str:
        from store.db import normalize_database_url

        return normalize_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; a wrong value raises SettingsError with one line naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("?",)
        name = str(loc[0])
        field = Settings.model_fields.get(name)
        env_name = field.alias if field is not None and field.alias else name
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        raise SettingsError(f"{env_name}: {msg}") from None


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure logging once, keeping chatty libraries and the bot token out of the log.

    Every handler of the root logger gets a ``TokenFilter``: anything shaped like a bot token,
    and each of ``secrets`` (pass the token, whatever its shape), is masked in messages and in
    the tracebacks logged with them.
    """
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    secrets = tuple(secrets)
    token_filter = TokenFilter(secrets)
    for handler in logging.getLogger().handlers:
        if secrets or not any(isinstance(f, TokenFilter) for f in handler.filters):
            handler.addFilter(token_filter)


_SECRET_PARAM = re.compile(r"key|token|secret|pass|pwd|auth|sig|session|credential|hash|sid", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
MASK = "***"


def redact_url(url: str) -> str:
    """``url`` with its credentials and key-like query parameters masked, for showing and logging.

    ``http://user:pw@host/feed?api_key=abc&page=2`` becomes
    ``http://***@host/feed?api_key=***&page=2``. A text that is not a URL comes back unchanged.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_IN_TEXT.sub(lambda m: m.group(0).split("://", 1)[0] + "://" + MASK, url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            name, eq, value = piece.partition("=")
            pieces.append(f"{name}={MASK}" if eq and value and _SECRET_PARAM.search(name) else piece)
        query = "&".join(pieces)
    fragment = parts.fragment
    if fragment and "=" in fragment:  # tokens travel in fragments too (#access_token=...)
        fragment = "&".join(f"{n}={MASK}" if e and v and _SECRET_PARAM.search(n) else f"{n}{e}{v}"
                            for n, e, v in (p.partition("=") for p in fragment.split("&")))
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_urls(text: str) -> str:
    """Every URL inside ``text`` passed through ``redact_url``."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class TokenFilter(logging.Filter):
    """Masks bot tokens (and secrets in URLs) in log records: in the message, in the traceback of an exception logged
    with it (``InvalidToken`` quotes the token it was given) and in the stack.

    A token is anything shaped like one (the shape ``Settings`` accepts: digits, a colon, ten or
    more letters, digits, ``_`` or ``-``), and each of ``secrets`` together with the part after
    its colon.
    """

    _pattern = re.compile(r"\d{3,}:[A-Za-z0-9_-]{10,}")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        words: set[str] = set()
        for secret in secrets:
            if secret:
                words.add(secret)
                tail = secret.partition(":")[2]
                if len(tail) >= 8:
                    words.add(tail)
        self._secrets = sorted(words, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` with every token in it replaced by ``<token>``, and URL credentials and key-like
        query parameters masked (``redact_urls``)."""
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return redact_urls(self._pattern.sub("<token>", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True

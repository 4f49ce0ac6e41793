"""The ``claimwatch`` command line: demo, import, report, extract, digest, db, sources, poll, run, worker."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from config.settings import Settings, SettingsError, TokenFilter, configure_logging, load_settings

logger = logging.getLogger(__name__)


class CliError(Exception):
    """A failure to report as one line and exit status 1."""


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {value!r}") from None
    if not 1 <= jobs <= 256:
        raise argparse.ArgumentTypeError(f"--jobs must be between 1 and 256, not {jobs}")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claimwatch",
        description="Follow official channels, extract incident claims, link them and flag conflicts.",
    )
    parser.add_argument("--db", metavar="URL", help="database URL (default: CLAIMWATCH_DATABASE_URL or a SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="database URL")
        return p

    p = add("demo", "load the demo corpus into a fresh database and print the digest (no token, no network)")
    p.add_argument("--lang", choices=("en", "uk", "ru"), default="en")

    p = add("import", "import Telegram Desktop channel exports (result.json)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="processes reading the posts while this one stores them (default: every core once an import has more than one 200-post chunk; 1 reads in this process)")

    p = add("report", "print the incidents with their claims and conflicts")
    p.add_argument("--json", action="store_true", help="JSON output (the report contract)")
    p.add_argument("--since", type=_date, metavar="DATE")
    p.add_argument("--until", type=_date, metavar="DATE")

    p = add("extract", "read a post's text on stdin and print its claims as JSON")
    p.add_argument("--lang", choices=("uk", "ru", "en"))
    p.add_argument("--date", type=_date, metavar="DATE", help="the post's date (default: today)")
    p.add_argument("--explain", nargs="?", const="json", choices=("json", "text"),
                   help="say which component, rule and words gave each field of each claim "
                        "(json: an 'explain' key per claim; text: one line per field)")

    p = add("digest", "print the digest subscribers would get")
    p.add_argument("--date", type=_date, metavar="DATE", help="the day (default: today in CLAIMWATCH_TIMEZONE, as the bot's /digest)")
    p.add_argument("--lang", choices=("en", "uk", "ru"), default="en")
    p.add_argument("--chart", type=Path, metavar="FILE.png", help="also render the day's chart to this file")
    p.add_argument("--map", type=Path, metavar="FILE.png", help="also draw the day's map to this file")
    p.add_argument("--html", action="store_true", help="print the Telegram HTML instead of plain text")

    p = add("db", "database maintenance")
    p.add_argument("action", choices=("upgrade",))

    p = add("sources", "manage followed sources")
    p.add_argument("action", choices=("add", "list", "remove", "pause", "resume", "import", "export"))
    p.add_argument("target", nargs="?", help="@channel, t.me link or feed URL (import: a .tsv file; export: a file, "
                                             "default standard output)")
    p.add_argument("role", nargs="?", help="who speaks, e.g. 'Kharkiv city mayor'")
    p.add_argument("side", nargs="?", choices=("ukraine", "russia", "international", "media"))
    p.add_argument("--backfill", type=int, default=1, metavar="PAGES")
    p.add_argument("--defaults", action="store_true",
                   help="add: follow the official channels listed in seeds/sources.tsv")

    p = add("poll", "poll followed sources once")
    p.add_argument("--once", action="store_true", required=True)
    p.add_argument("source", nargs="?")

    p = add("run", "start the Telegram bot")
    p.add_argument("--webhook", metavar="URL", help="serve a webhook at this public URL instead of long polling")
    p.add_argument("--listen", default="127.0.0.1:8443", metavar="HOST:PORT")
    p.add_argument("--standby", action="store_true",
                   help="when another bot runs on this database, wait and take over when it stops")
    p.add_argument("--no-poll", dest="poll", action="store_false", default=None,
                   help="leave polling channels and feeds to 'claimwatch worker' processes "
                        "(the same as CLAIMWATCH_POLL_IN_BOT=false)")

    p = add("worker", "poll due channels and feeds and ingest their posts, beside the bot (PostgreSQL; "
                      "run as many as you like, on any machine)")
    p.add_argument("--concurrency", type=_positive(int), default=4, metavar="N",
                   help="sources this worker fetches at the same time (default: 4)")
    p.add_argument("--idle", type=_positive(float), default=5.0, metavar="SECONDS",
                   help="how often to look for due sources while none is due (default: 5)")
    p.add_argument("--lease", type=_positive(float), default=300.0, metavar="SECONDS",
                   help="a source this worker claimed is due again for the others after this long if the worker "
                        "dies before storing its poll (default: 300)")
    return parser


def _positive(kind: type[int | float]) -> Callable[[str], int | float]:
    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
        return number

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {"CLAIMWATCH_DATABASE_URL": args.db} if getattr(args, "db", None) else {}
        settings = load_settings(**overrides)
        token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
        configure_logging(settings.log_level if args.command in ("run", "worker") else "WARNING", secrets=[token] if token else [])
        return _dispatch(args, settings)
    except SettingsError as exc:
        print(f"claimwatch: setting {exc}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("claimwatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last guard: one line for a person, details in the log
        from store.db import DatabaseError, explain

        from telegram.error import InvalidToken

        if isinstance(exc, DatabaseError):
            print(f"claimwatch: {exc}", file=sys.stderr)
            return 1
        explained = explain(exc, settings.database_url if "settings" in locals() else None)
        if explained:
            logger.debug("storage error", exc_info=True)
            print(TokenFilter().mask(f"claimwatch: {explained}"), file=sys.stderr)
            return 1
        if isinstance(exc, InvalidToken):
            print("claimwatch: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)", file=sys.stderr)
            return 1
        logger.debug("unexpected error", exc_info=True)
        line = str(exc).splitlines()[0] if str(exc) else ""
        print(TokenFilter().mask(f"claimwatch: unexpected error: {type(exc).__name__}: {line}"), file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot import commands

    handler = getattr(commands, f"cmd_{args.command}")
    return int(handler(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())

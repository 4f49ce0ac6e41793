"""What each ``claimwatch`` command does: call services, print results (``bot.cli`` parses the arguments)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.digest import render_digest
from bot.engine.types import ImportStats
from bot.services import extract_pool, ingest, reports
from config.settings import Settings

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


def _extractor(settings: Settings) -> Any:
    return ingest.load_extractor(settings, on_build=_say_building)


def _say_building(path: Path) -> None:
    print(f"claimwatch: building the place index in {path.parent} (the first run only; about a minute)…",
          file=sys.stderr, flush=True)


def _open(settings: Settings, *, readonly: bool = False) -> Any:
    from store.db import open_database

    _, session_factory = open_database(settings.database_url, readonly=readonly)
    return session_factory


def _import_files(session_factory: Any, paths: list[Path], settings: Settings,
                  jobs: int | None = 1) -> tuple[ImportStats, list[str]]:
    """Import export files; ``jobs`` processes read the posts (None or 1: this process)."""
    missing = [p for p in paths if not p.is_file()]
    exports, errors = ingest.read_exports([p for p in paths if p.is_file()], settings.zone)
    errors = [f"{p}: no such file" for p in missing] + errors
    stats = ImportStats()
    extractor = _extractor(settings) if exports else None
    total = sum(len(e.posts) for e in exports)
    if jobs is None:  # every core, once there is more than one chunk to read
        jobs = extract_pool.usable_cores() if total > ingest.IMPORT_CHUNK else 1
    bar = None
    if sys.stderr.isatty() and total:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="post", file=sys.stderr, leave=False)
    try:
        if exports:
            ingest.import_exports(session_factory, exports, extractor, stats, bar.update if bar else None,
                                  jobs=jobs, cache_dir=settings.cache_dir)
    finally:
        if bar is not None:
            bar.close()
    totals = reports.store_totals(session_factory)
    stats.incidents, stats.conflicts = totals["incidents"], totals["conflicts"]
    return stats, errors


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    session_factory = _open(settings)
    stats, errors = _import_files(session_factory, list(args.files), settings, args.jobs)
    for line in errors:
        print(f"claimwatch: {line}", file=sys.stderr)
    print(stats.summary())
    return 1 if errors else 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    session_factory = _open(settings, readonly=True)
    report = reports.build_report(session_factory, since=args.since, until=args.until)
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    for incident in report["incidents"]:  # type: ignore[union-attr]
        flag = "⚠️ " if incident["conflicts"] else ""
        killed = incident["killed"]["best"]
        injured = incident["injured"]["best"]
        print(f"{flag}{incident['date']} {incident['place']} ({incident['oblast'] or '-'}) {incident['kind']}: "
              f"killed {killed if killed is not None else '-'}, injured {injured if injured is not None else '-'}, "
              f"{len(incident['claims'])} claims")
        for conflict in incident["conflicts"]:
            values = "; ".join(f"{v['value']} ({', '.join(v['claimants'])})" for v in conflict["values"])
            print(f"    conflict on {conflict['field']}: {values}")
    return 0


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    text = sys.stdin.read()
    posted = datetime.combine(args.date or date.today(), datetime.min.time().replace(hour=12), tzinfo=settings.zone)
    explain = getattr(args, "explain", None)
    if explain:
        document: dict[str, Any] = {"claims": _explained(_extractor(settings), text, posted, args.lang, explain)}
    else:
        claims = _extractor(settings).extract_claims(text, posted_at=posted, lang=args.lang)
        document = {"claims": [c.as_dict() for c in claims]}
    cut = _cut_at(text)
    if cut is not None:  # the engine reads a bounded prefix of a very long post: say so, and where
        document["truncated"] = {"read_characters": cut[0], "total_characters": cut[1]}
        print(f"claimwatch: the text is {cut[1]:,} characters long; claims were read from the first {cut[0]:,} only",
              file=sys.stderr)
    if explain == "text":
        return 0
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def _explained(extractor: Any, text: str, posted: datetime, lang: str | None, form: str) -> list[dict[str, Any]]:
    """``extract --explain``: each claim with where each of its fields came from (component, rule,
    words, sentence), as an ``explain`` key per claim; with ``form`` "text" the claims are printed
    here instead, each as one JSON line followed by one line per field."""
    from bot.engine.extract import explain_lines

    claims = []
    for claim, trace in extractor.explain_claims(text, posted_at=posted, lang=lang):
        item = claim.as_dict()
        lines = explain_lines(claim, trace)
        if form == "text":
            print(json.dumps(item, ensure_ascii=False))
            for line in lines.values():
                print(f"  {line}")
        item["explain"] = {name: {**trace[name].as_dict(), "line": line} for name, line in lines.items()}
        claims.append(item)
    return claims


def _cut_at(text: str) -> tuple[int, int] | None:
    """(characters read, characters in all) when extraction reads only a prefix of ``text``."""
    from bot.engine.extract import MAX_TEXT, cut_point
    from bot.engine.text import normalize

    clean = normalize(text or "")
    return (cut_point(clean), len(clean)) if len(clean) > MAX_TEXT else None


def _latest_day(session_factory: Any) -> date | None:
    views = reports.list_incident_views(session_factory, limit=1)
    return views[0].summary.date if views else None


def print_digest(session_factory: Any, day: date | None, lang: str, *, html_mode: bool = False,
                 chart: Path | None = None, today: date | None = None, day_map: Path | None = None,
                 zone: tzinfo | None = None) -> None:
    """The digest of ``day``; by default of today (``today``: in CLAIMWATCH_TIMEZONE, ``zone``), the
    day the bot's /digest sends, with the earlier incidents that got posts that day as updates. An
    empty day says which day last had incidents."""
    day = day or today or date.today()
    views = reports.list_incident_views(session_factory, since=day, until=day, posted_in=zone)
    for message in render_digest(views, day=day, lang=lang, html_mode=html_mode):
        print(message)
        print()
    latest = None if views else _latest_day(session_factory)
    if latest is not None:  # not an error (stderr stays empty): a pointer, after the digest
        print(f"The latest day with incidents is {latest.isoformat()}: claimwatch digest --date {latest.isoformat()}")
    if chart is not None:
        from bot.engine.chart import render_chart

        chart.write_bytes(render_chart(views, day=day, lang=lang))
        print(f"chart written to {chart}")
    if day_map is not None:
        from bot.engine.map import render_map

        drawn = render_map(views, day=day, lang=lang)
        day_map.write_bytes(drawn.png)
        print(f"map written to {day_map} ({len(drawn.points)} incidents drawn, {drawn.left_out} without coordinates)")


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    session_factory = _open(settings, readonly=True)
    print_digest(session_factory, args.date, args.lang, html_mode=args.html, chart=args.chart,
                 today=datetime.now(settings.zone).date(), day_map=args.map, zone=settings.zone)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    demo_files = sorted((SEEDS_DIR / "demo").glob("*.json"))
    if getattr(args, "db", None):
        url = settings.database_url
    else:
        folder = Path(tempfile.mkdtemp(prefix="claimwatch-demo-"))
        url = f"sqlite:///{folder / 'demo.db'}"
    demo_settings = settings.model_copy(update={"database_url": url})
    session_factory = _open(demo_settings)
    ingest.seed_sources(session_factory, SEEDS_DIR / "sources.tsv")
    stats, errors = _import_files(session_factory, demo_files, demo_settings)
    for line in errors:
        print(f"claimwatch: {line}", file=sys.stderr)
    print(f"demo corpus: {stats.summary()}")
    print(f"database: {url}\n")
    views = reports.list_incident_views(session_factory)
    days = sorted({v.summary.date for v in views})
    for day in days:
        day_views = [v for v in views if v.summary.date == day]
        for message in render_digest(day_views, day=day, lang=args.lang, html_mode=False):
            print(message)
            print()
    return 1 if errors else 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import check_integrity, describe, open_database

    engine, _ = open_database(settings.database_url)
    check_integrity(engine)  # damaged pages are said now, not found by the next command
    print(f"database {describe(settings.database_url)} is at the latest schema and passed its integrity check")
    return 0


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    session_factory = _open(settings, readonly=args.action in ("list", "export"))
    return _sources(session_factory, settings, args)


def _sources(session_factory: sessionmaker[Session], settings: Settings, args: argparse.Namespace) -> int:
    """``claimwatch sources add|list|remove|pause|resume|import|export``: one line per outcome, 0 or 1."""
    from bot.pollers import PollerError
    from bot.services import source_lists, sources

    action: str = args.action
    target: str | None = getattr(args, "target", None)
    try:
        if action == "import" or (action == "add" and getattr(args, "defaults", False)):
            path = Path(target) if action == "import" and target else SEEDS_DIR / "sources.tsv"
            done = source_lists.import_sources(session_factory, path)
            for line in done.refused:
                print(f"claimwatch: {line}", file=sys.stderr)
            print(f"{done.added} sources added, {done.updated} updated from {path}"
                  + (f"; {len(done.refused)} rows refused" if done.refused else ""))
            return 1 if done.refused else 0
        if action == "export":
            text = source_lists.export_sources(session_factory)
            if target and target != "-":
                Path(target).write_text(text, encoding="utf-8")
                print(f"{text.count(chr(10)) - 1} sources written to {target}")
            else:
                sys.stdout.write(text)
            return 0
        if action == "list":
            statuses = sources.list_sources_info(session_factory, target)
            if not statuses:
                print("no sources followed yet (add one: claimwatch sources add @channel)")
            for status in statuses:
                print(status.line())
            return 0
        if not target:
            raise sources.SourceError(f"sources {action} needs a @channel, t.me link or feed URL")
        if action == "add":
            result = asyncio.run(sources.add_source(
                session_factory, settings, target, getattr(args, "role", None), getattr(args, "side", None),
                backfill_pages=getattr(args, "backfill", 1),
            ))
            posts = f"{result.new} new, {result.updated} updated posts"
            if result.created:
                print(f"added {result.label} ({result.name}): {posts}")
            else:  # following it again is no error: its role and side given now are saved
                saved = "; role and side saved" if getattr(args, "role", None) or getattr(args, "side", None) else ""
                print(f"{result.label} ({result.name}) is already followed{saved}: {posts}")
            return 0
        actions: dict[str, tuple[Callable[[sessionmaker[Session], str], str], str]] = {
            "remove": (sources.remove_source, "removed"),
            "pause": (sources.pause_source, "paused"),
            "resume": (sources.resume_source, "resumed"),
        }
        if action not in actions:
            raise sources.SourceError(f"unknown action {action!r}")
        service, verb = actions[action]
        print(f"{verb} {service(session_factory, target)}")
        return 0
    except (sources.SourceError, PollerError) as exc:
        print(f"claimwatch: {sources.one_line(str(exc))}", file=sys.stderr)
        return 1


def _poll(session_factory: sessionmaker[Session], settings: Settings, source_key: str | None) -> int:
    """``claimwatch poll --once [SOURCE]``: one line per source; 0 when every poll succeeded."""
    from bot.services import polling, sources

    try:
        refs = polling.list_pollable(session_factory, source_key)
    except sources.SourceError as exc:
        print(f"claimwatch: {exc}", file=sys.stderr)
        return 1
    if not refs:
        print("no active channels or feeds to poll (add one: claimwatch sources add @channel)")
        return 0
    extractor = sources.load_extractor(settings)
    results = asyncio.run(polling.poll_sources(session_factory, settings, extractor, refs))
    for result in results:
        print(result.line())
    return 0 if all(r.ok for r in results) else 1


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    return _poll(_open(settings), settings, args.source)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot

    return run_bot(settings, webhook_url=args.webhook, listen=args.listen, standby=args.standby, poll=args.poll)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from bot.worker import run_worker

    return run_worker(settings, concurrency=args.concurrency, idle=args.idle, lease=timedelta(seconds=args.lease))

"""Incidents and conflicts do not depend on the order posts arrive in, and daily strikes do not chain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.engine.types import ImportStats, PostIn
from bot.exports import ChannelExport
from bot.services.ingest import ingest_posts, read_exports, refresh_incidents
from bot.services.reports import build_report
from store import queries
from store.db import open_database
from tests.conftest import require_shared

KYIV = ZoneInfo("Europe/Kyiv")


def _ingest(url: str, extractor, posts: Iterable[tuple[ChannelExport, PostIn]]) -> dict:  # type: ignore[no-untyped-def]
    """Each post in its own transaction, in the order given; returns the report."""
    engine, factory = open_database(url)
    try:
        for export, post in posts:
            with factory.begin() as session:
                source = queries.upsert_source(session, export.ref, export.name, handle=export.handle)
                touched = ingest_posts(session, source, [post], extractor, ImportStats())
                refresh_incidents(session, touched)
        return build_report(factory)
    finally:
        engine.dispose()


def _shape(report: dict) -> list:
    """The incidents as sets of posts' claims with their conflicts, without ids or arrival traces."""
    return sorted(repr(x) for x in (
        (tuple(sorted(repr((c["source_ref"], c["message_id"], c["kind"], c["killed"], c["injured"], c["controller"]))
                      for c in i["claims"])),
         tuple(sorted((f["field"], tuple(sorted((str(v["value"]), tuple(sorted(map(tuple, v["claims"]))))
                                                for v in f["values"])))
                      for f in i["conflicts"])),
         i["date"], i["killed"]["best"], i["injured"]["best"], i["sources"])
        for i in report["incidents"]
    ))


@pytest.mark.corpus
def test_dev2_in_three_orders_gives_the_same_incidents_and_conflicts(tmp_path, extractor):  # type: ignore[no-untyped-def]
    corpus = require_shared("corpus", "dev2")
    paths = [p for p in sorted(corpus.glob("*.json")) if p.name not in ("gold.json", "conflicts.json")]
    exports, errors = read_exports(paths, KYIV)
    assert not errors
    in_files = [(e, p) for e in exports for p in e.posts]
    interleaved = [(e, e.posts[n]) for n in range(max(len(e.posts) for e in exports)) for e in exports
                   if n < len(e.posts)]
    reports = [_ingest(f"sqlite:///{tmp_path / f'{name}.db'}", extractor, order)
               for name, order in (("sorted", in_files), ("reversed", in_files[::-1]),
                                   ("interleaved", interleaved))]
    shapes = [_shape(r) for r in reports]
    assert shapes[0] == shapes[1] == shapes[2]
    assert any(i["conflicts"] for i in reports[0]["incidents"])


DAILY = [
    "Russian missiles hit Kharkiv overnight, killing {k} people, the governor said.",
    "A Russian strike on Kharkiv killed {k} civilians, regional governor Oleh Syniehubov said.",
]


def test_seven_daily_strikes_on_one_city_stay_seven_incidents(db_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    start = datetime(2024, 5, 1, 9, tzinfo=KYIV)
    export = ChannelExport(path=tmp_path / "x.json", ref="4242", name="Kharkiv news", handle=None, posts=(),
                           skipped=0)
    posts = []
    for day in range(7):
        for n, text in enumerate(DAILY):  # two channels' reports of each day's strike, its own toll
            posts.append((export, PostIn(message_id=day * 10 + n + 1, posted_at=start + timedelta(days=day, hours=n),
                                         text=text.format(k=day + 2))))
    # a week later the toll of the first strike rises: the follow-up joins the first incident
    posts.append((export, PostIn(message_id=100, posted_at=start + timedelta(days=9),
                                 text="The death toll from the Russian missile strike on Kharkiv on 1 May has risen: "
                                      "4 people were killed, the governor said.")))
    report = _ingest(db_url, extractor, posts)
    kharkiv = sorted((i for i in report["incidents"] if i["place"] == "Kharkiv"), key=lambda i: i["date"])
    assert [i["date"] for i in kharkiv] == [f"2024-05-0{d}" for d in range(1, 8)]
    assert [len(i["claims"]) for i in kharkiv] == [3, 2, 2, 2, 2, 2, 2]
    assert kharkiv[0]["killed"]["best"] == 4 and kharkiv[0]["conflicts"] == []
    assert all(i["conflicts"] == [] for i in kharkiv)


def test_a_report_of_the_region_named_after_the_city_joins_the_strike_on_the_city(db_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    export = ChannelExport(path=tmp_path / "x.json", ref="4343", name="Zaporizhzhia news", handle=None, posts=(),
                           skipped=0)
    start = datetime(2024, 4, 5, 10, tzinfo=KYIV)
    city = PostIn(1, start, "A Russian missile strike on Zaporizhzhia killed 4 people and injured 20, the governor said.")
    region = PostIn(2, start + timedelta(hours=20), "As a result of Russian missile attacks in the Zaporizhzhia region, "
                                                    "4 people were killed and 23 were injured, Ivan Fedorov reported.")
    for order in ([city, region], [region, city]):
        report = _ingest(db_url if order[0] is city else f"sqlite:///{tmp_path / 'r.db'}", extractor,
                         [(export, p) for p in order])
        (incident,) = report["incidents"]
        assert {c["place"] for c in incident["claims"]} == {"Zaporizhzhia", "Zaporizhzhia Oblast"}


def test_the_digest_shows_a_rising_toll_on_each_day_it_got_new_posts(db_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    from datetime import date

    from bot.engine.digest import plain_text, render_digest
    from bot.services.reports import list_incident_views

    export = ChannelExport(path=tmp_path / "x.json", ref="4444", name="Odesa news", handle=None, posts=(), skipped=0)
    start = datetime(2024, 3, 15, 14, tzinfo=KYIV)
    posts = [
        PostIn(1, start, "A Russian missile strike on Odesa killed 14 people and injured 46, the governor said."),
        PostIn(2, start + timedelta(days=1, hours=2),
               "The death toll from the Russian missile strike on Odesa on 15 March has risen to 20, the governor said."),
        PostIn(3, start + timedelta(days=1, hours=3), "A Russian drone attack on Lviv injured 2 people, the mayor said."),
    ]
    _ingest(db_url, extractor, [(export, p) for p in posts])
    engine, factory = open_database(db_url)
    try:
        def digest(day: date) -> str:
            views = list_incident_views(factory, since=day, until=day, posted_in=KYIV)
            return "\n".join(plain_text(m) for m in render_digest(views, day=day, lang="en", html_mode=False))

        first, second, third = (digest(date(2024, 3, d)) for d in (15, 16, 17))
        # 15 March: the strike as it was reported that day, not marked as an update
        assert "Odesa" in first and "update" not in first and "Lviv" not in first
        # 16 March: the risen toll of the 15 March strike, marked as an update of it, beside that day's strike
        odesa = next(line for line in second.splitlines() if line.startswith("•") and "Odesa" in line)
        assert "update on the incident of 15 March" in odesa and "20" in odesa
        lviv = next(line for line in second.splitlines() if line.startswith("•") and "Lviv" in line)
        assert "update" not in lviv
        # 17 March: nothing new
        assert "Odesa" not in third and "No incidents reported" in third
        # without the zone, a day lists only the incidents of that day (the report and /incidents)
        assert [v.summary.place.name for v in list_incident_views(factory, since=date(2024, 3, 16),
                                                                    until=date(2024, 3, 16))] == ["Lviv"]
    finally:
        engine.dispose()


def test_a_follow_up_that_arrived_before_its_strike_joins_it(db_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    export = ChannelExport(path=tmp_path / "x.json", ref="4545", name="Kharkiv news", handle=None, posts=(),
                           skipped=0)
    start = datetime(2024, 6, 3, 10, tzinfo=KYIV)
    strike = PostIn(1, start, "Russian missiles hit Kharkiv, killing 3 people, the governor said.")
    # five days later, with no date of its own: it reports on the latest strike on the city
    risen = PostIn(2, start + timedelta(days=5), "The death toll in Kharkiv has risen to 7, the governor said.")
    shapes = []
    for name, order in (("in order", [strike, risen]), ("follow-up first", [risen, strike])):
        url = db_url if name == "in order" else f"sqlite:///{tmp_path / 'reversed.db'}"
        report = _ingest(url, extractor, [(export, p) for p in order])
        (incident,) = [i for i in report["incidents"] if i["place"] == "Kharkiv"]
        assert incident["date"] == "2024-06-03" and incident["killed"]["best"] == 7, name
        shapes.append(_shape(report))
    assert shapes[0] == shapes[1]


def test_later_words_on_a_strike_on_one_site_join_it_in_any_order(db_url, tmp_path, extractor):  # type: ignore[no-untyped-def]
    export = ChannelExport(path=tmp_path / "x.json", ref="4545", name="Kharkiv news", handle=None, posts=(),
                           skipped=0)
    start = datetime(2024, 5, 25, 17, tzinfo=KYIV)
    posts = [
        PostIn(1, start, "A Russian guided bomb hit the Epicentr shopping mall in Kharkiv, killing 12 people and "
                         "injuring 43, the governor said."),
        PostIn(2, start + timedelta(days=1), "A Russian drone hit a house in Kharkiv, injuring 3 people, the governor said."),
        # three days on, a toll with no word of a rise; four days on, the weapon
        PostIn(3, start + timedelta(days=3), "Унаслідок удару по торговельному центру в Харкові загинули 16 людей, "
                                             "повідомив Синєгубов."),
        PostIn(4, start + timedelta(days=4), "Russian forces used two KAB-500 guided bombs to strike the shopping mall "
                                             "in Kharkiv, the prosecutor's office said."),
    ]
    shapes = []
    for n, order in enumerate((posts, posts[::-1], [posts[2], posts[0], posts[3], posts[1]])):
        report = _ingest(db_url if n == 0 else f"sqlite:///{tmp_path / f'o{n}.db'}", extractor,
                         [(export, p) for p in order])
        incidents = sorted(sorted(c["message_id"] for c in i["claims"]) for i in report["incidents"])
        assert incidents == [[1, 3, 4], [2]]
        shapes.append(_shape(report))
    assert shapes[0] == shapes[1] == shapes[2]

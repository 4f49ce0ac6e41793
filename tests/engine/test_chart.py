"""The chart of the day agrees with the digest's text: the same incidents under the same region
names, the same toll; a disputed figure is drawn as a range and marked, not as plain fact."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.engine.chart import chart_bars, render_chart
from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.digest import render_digest
from bot.engine.names import Names
from bot.engine.types import Claim, ClaimRecord, IncidentView, Kind, Place

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2022, 3, 1)
KHARKIV = Place("Kharkiv", "Kharkiv Oblast", lat=49.98, lon=36.25)
KHERSON = Place("Kherson", "Kherson Oblast", lat=46.64, lon=32.61)
_ids = iter(range(1, 10_000))


def view(where: Place, *killed: int, kind: Kind = Kind.SHELLING) -> IncidentView:
    records = tuple(
        ClaimRecord(n, Claim(kind=kind, place=where, date=DAY, evidence="…", killed=k, claimant=f"c{n}"),
                    f"r{n}", f"source {n}", n, datetime(2022, 3, 1, 9 + i, tzinfo=KYIV))
        for i, (n, k) in enumerate((next(_ids), k) for k in killed))
    return IncidentView(next(_ids), summarize(records), records, tuple(detect_conflicts(records)))


def test_the_chart_draws_the_digests_incidents_and_toll() -> None:
    views = [view(KHARKIV, 3), view(KHARKIV, 1), view(KHERSON, 6, 2)]  # 2 an hour after 6: disputed
    assert views[2].conflicts and not views[0].conflicts
    text = "\n".join(render_digest(views, day=DAY, lang="uk", html_mode=False, names=Names()))
    bars = {bar.label: bar for bar in chart_bars(views, lang="uk", names=Names())}
    assert set(bars) == {"Харківська область", "Херсонська область"}
    assert all(label in text for label in bars)
    totals = text.splitlines()[1]  # "3 інциденти · N загиблих · …"
    assert f"{sum(b.killed for b in bars.values())} загиблих" in totals
    kharkiv, kherson = bars["Харківська область"], bars["Херсонська область"]
    assert (kharkiv.killed, kharkiv.incidents, kharkiv.disputed) == (4, 2, False)
    assert kherson.disputed and kherson.killed_range == (2, 6)  # drawn as a range, marked ⚠


def test_an_empty_day_draws_no_bars_but_still_a_picture() -> None:
    assert chart_bars([], lang="en", names=Names()) == []
    assert render_chart([], day=DAY, lang="en", names=Names()).startswith(b"\x89PNG")

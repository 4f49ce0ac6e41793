"""The map of the day: the day's incidents drawn where their settlements are, disputed ones marked
apart, an empty day said once; the outlines come from the installed pygal-maps-ua package."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import matplotlib.image as mpimg
import numpy as np
import pytest

from bot.engine.conflicts import detect_conflicts, summarize
from bot.engine.map import COLOURS, load_outlines, project, render_map
from bot.engine.names import Names
from bot.engine.types import Claim, ClaimRecord, IncidentView, Kind, Place

KYIV = ZoneInfo("Europe/Kyiv")
DAY = date(2022, 3, 1)
KHARKIV = Place("Kharkiv", "Kharkiv Oblast", lat=49.98, lon=36.25, code="UA63120270010096107")
KHERSON = Place("Kherson", "Kherson Oblast", lat=46.64, lon=32.61, code="UA65100150010064384")
LVIV = Place("Lviv", "Lviv Oblast", lat=49.84, lon=24.03, code="lviv-test")
NOWHERE = Place("Somewhere", None)
_ids = iter(range(1, 10_000))


def view(where: Place, *killed: int) -> IncidentView:
    records = tuple(
        ClaimRecord(n, Claim(kind=Kind.SHELLING, place=where, date=DAY, evidence="…", killed=k, claimant=f"c{n}"),
                    f"r{n}", f"source {n}", n, datetime(2022, 3, 1, 9 + i, tzinfo=KYIV))
        for i, (n, k) in enumerate((next(_ids), k) for k in killed))
    return IncidentView(next(_ids), summarize(records), records, tuple(detect_conflicts(records)))


def colour_at(png: bytes, x: float, y: float) -> np.ndarray:
    image = mpimg.imread(io.BytesIO(png), format="png")
    return image[int(round(y)), int(round(x)), :3]


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def test_the_outlines_project_cities_inside_their_oblasts() -> None:
    outlines = load_outlines()
    assert len(outlines.regions) >= 25 and "kharkiv" in outlines.regions
    from matplotlib.path import Path as Shape

    for place, region in ((KHARKIV, "kharkiv"), (KHERSON, "kherson"), (LVIV, "lviv")):
        point = project(place.lon, place.lat, outlines)  # type: ignore[arg-type]
        assert any(Shape(shape).contains_point(point) for shape in outlines.regions[region]), place.name


def test_each_incident_is_drawn_at_its_settlement_and_disputed_ones_are_marked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    views = [view(KHARKIV, 3), view(KHERSON, 6, 2), view(LVIV, 1), view(NOWHERE, 1)]
    assert views[1].conflicts and not views[0].conflicts
    drawn = render_map(views, day=DAY, lang="uk", names=Names())
    assert drawn.png.startswith(b"\x89PNG")
    assert {p.place for p in drawn.points} == {"Kharkiv", "Kherson", "Lviv"} and drawn.left_out == 1
    by_place = {p.place: p for p in drawn.points}
    assert by_place["Lviv"].x < by_place["Kherson"].x < by_place["Kharkiv"].x  # west to east
    assert by_place["Kharkiv"].y < by_place["Kherson"].y  # north above south
    for point in drawn.points:
        expected = rgb(COLOURS["disputed" if point.disputed else "incident"])
        assert np.abs(colour_at(drawn.png, point.x, point.y) - expected).max() < 0.2, point
    assert by_place["Kherson"].disputed


def test_an_empty_day_is_an_empty_map_that_says_so() -> None:
    empty = render_map([], day=DAY, lang="en", names=Names())
    assert empty.points == () and empty.png.startswith(b"\x89PNG")
    red = rgb(COLOURS["incident"])
    image = mpimg.imread(io.BytesIO(empty.png), format="png")[:, :, :3]
    assert not (np.abs(image - red).max(axis=2) < 0.1).any()  # no marker anywhere


@pytest.mark.parametrize("lang", ["uk", "ru", "en"])
def test_the_map_renders_in_every_language(lang: str) -> None:
    assert render_map([view(KHARKIV, 1)], day=DAY, lang=lang, names=Names()).points

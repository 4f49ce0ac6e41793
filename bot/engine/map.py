"""The map of the day: incidents at their settlements' coordinates on Ukraine's oblast outlines, as a PNG.

The outlines are the simplified ADM1 boundaries of geoBoundaries that the ``pygal-maps-ua``
package ships as an SVG (LGPL-3.0-or-later); they are read from the installed package, never
downloaded. That SVG is a Mercator projection of Ukraine's extent onto its frame, so a
settlement's longitude and latitude are projected the same way. Disputed incidents are drawn
as hollow markers with a warning edge, so that a contested figure is not shown as plain fact.
"""

from __future__ import annotations

import functools
import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from bot.engine.digest import format_day, load_strings  # noqa: E402
from bot.engine.names import Names, load_names  # noqa: E402
from bot.engine.types import IncidentView  # noqa: E402

OUTLINES_PACKAGE = "pygal_maps_ua"
OUTLINES_FILE = "UKR-ADM1_simplified.Svg"
#: Ukraine's extreme longitudes and latitudes, which the SVG's outlines span edge to edge.
WEST, EAST, NORTH, SOUTH = 22.137, 40.228, 52.379, 44.386
#: How far beyond Ukraine's extent an incident is still drawn (Belgorod, Kursk, the Black Sea).
MARGIN_DEGREES = 2.0
COLOURS = {"land": "#f2efe9", "edge": "#9a948a", "incident": "#b2182b", "disputed": "#f28e2b", "label": "#333333"}
DPI = 110
_NS = "{http://www.w3.org/2000/svg}"
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_COMMAND = re.compile(r"([MmLlHhVvCcZz])([^MmLlHhVvCcZz]*)")


@dataclass(frozen=True, slots=True)
class Outlines:
    """Each region's polygons in the SVG's frame, and the frame's extent."""

    regions: dict[str, tuple[tuple[tuple[float, float], ...], ...]]
    left: float
    right: float
    top: float
    bottom: float


@dataclass(frozen=True, slots=True)
class MapPoint:
    """An incident as drawn: where (in the picture's pixels, from the top left) and how."""

    incident_id: int
    place: str
    x: float
    y: float
    disputed: bool
    killed: int


@dataclass(frozen=True, slots=True)
class DayMap:
    """The PNG and what it shows; incidents without coordinates, or far outside Ukraine, are left out."""

    png: bytes
    points: tuple[MapPoint, ...]
    left_out: int


def _path_polygons(d: str) -> list[tuple[tuple[float, float], ...]]:
    """The closed shapes of an SVG path made of m/l/h/v/c/z commands (curves by their end points)."""
    shapes: list[tuple[tuple[float, float], ...]] = []
    current: list[tuple[float, float]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    for command, args in _COMMAND.findall(d):
        numbers = [float(n) for n in _NUMBER.findall(args)]
        relative = command.islower()
        kind = command.lower()
        if kind == "m":
            if current:
                shapes.append(tuple(current))
            for i in range(0, len(numbers) - 1, 2):
                x, y = (x + numbers[i], y + numbers[i + 1]) if relative else (numbers[i], numbers[i + 1])
                if i == 0:
                    current, start = [(x, y)], (x, y)
                else:
                    current.append((x, y))
        elif kind == "l":
            for i in range(0, len(numbers) - 1, 2):
                x, y = (x + numbers[i], y + numbers[i + 1]) if relative else (numbers[i], numbers[i + 1])
                current.append((x, y))
        elif kind == "h":
            for value in numbers:
                x = x + value if relative else value
                current.append((x, y))
        elif kind == "v":
            for value in numbers:
                y = y + value if relative else value
                current.append((x, y))
        elif kind == "c":
            for i in range(0, len(numbers) - 5, 6):
                x, y = (x + numbers[i + 4], y + numbers[i + 5]) if relative else (numbers[i + 4], numbers[i + 5])
                current.append((x, y))
        elif kind == "z":
            if current:
                shapes.append(tuple(current))
            current = []
            x, y = start
    if current:
        shapes.append(tuple(current))
    return [shape for shape in shapes if len(shape) >= 3]


@functools.lru_cache(maxsize=1)
def load_outlines() -> Outlines:
    """The oblast outlines from the installed ``pygal-maps-ua`` package.

    Raises:
        FileNotFoundError: the package is not installed (it is a dependency of claimwatch).
        ValueError: the file has no regions (a changed package).
    """
    text = resources.files(OUTLINES_PACKAGE).joinpath(OUTLINES_FILE).read_text(encoding="utf-8")
    root = ET.fromstring(text)
    regions: dict[str, list[tuple[tuple[float, float], ...]]] = {}
    for group in root.iter(f"{_NS}g"):
        classes = (group.get("class") or "").split()
        if "region" not in classes:
            continue
        name = classes[0].removeprefix("ua_")
        for path in group.iter(f"{_NS}path"):
            regions.setdefault(name, []).extend(_path_polygons(path.get("d") or ""))
    points = [pt for shapes in regions.values() for shape in shapes for pt in shape]
    if not points:
        raise ValueError(f"{OUTLINES_PACKAGE}/{OUTLINES_FILE}: no regions found")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Outlines({k: tuple(v) for k, v in regions.items()}, min(xs), max(xs), min(ys), max(ys))


def _mercator(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def project(lon: float, lat: float, outlines: Outlines | None = None) -> tuple[float, float]:
    """A longitude and latitude in the outlines' frame (x to the right, y downwards)."""
    frame = outlines or load_outlines()
    x = frame.left + (lon - WEST) / (EAST - WEST) * (frame.right - frame.left)
    y = frame.top + (_mercator(NORTH) - _mercator(lat)) / (_mercator(NORTH) - _mercator(SOUTH)) * (
        frame.bottom - frame.top)
    return x, y


def _drawable(lon: float | None, lat: float | None) -> bool:
    return (lon is not None and lat is not None and WEST - MARGIN_DEGREES <= lon <= EAST + MARGIN_DEGREES
            and SOUTH - MARGIN_DEGREES <= lat <= NORTH + MARGIN_DEGREES)


def render_map(views: Sequence[IncidentView], *, day: date, lang: str = "en", names: Names | None = None) -> DayMap:
    """The day's incidents on the oblast outlines.

    Args:
        views: the day's incidents (the digest's).
        day: for the title.
        lang: 'en', 'uk' or 'ru' (title, legend, place labels).
        names: names in the reader's language; by default the process's `load_names()`.

    Returns:
        The PNG with the points drawn; a marker's area grows with the killed, a disputed
        incident is a hollow orange ring; the worst incidents are labelled.
    """
    s = load_strings().get(lang, load_strings()["en"])
    names = names or load_names()
    outlines = load_outlines()
    wanted = [v for v in views if _drawable(v.summary.place.lon, v.summary.place.lat)]
    left_out = len(views) - len(wanted)
    fig, ax = plt.subplots(figsize=(9, 6.3), dpi=DPI)
    try:
        shapes = [shape for region in outlines.regions.values() for shape in region]
        ax.add_collection(PolyCollection(shapes, facecolors=COLOURS["land"], edgecolors=COLOURS["edge"],
                                         linewidths=0.6))
        placed: list[tuple[IncidentView, float, float]] = []
        for view in wanted:
            x, y = project(view.summary.place.lon, view.summary.place.lat, outlines)  # type: ignore[arg-type]
            placed.append((view, x, y))
        xs = [outlines.left, outlines.right] + [x for _, x, _ in placed]
        ys = [outlines.top, outlines.bottom] + [y for _, _, y in placed]
        pad = 20.0
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(max(ys) + pad, min(ys) - pad)  # the SVG's y grows downwards
        ax.set_aspect("equal")
        ax.axis("off")
        for view, x, y in sorted(placed, key=lambda item: item[0].summary.killed.best or 0, reverse=True):
            killed = view.summary.killed.best or 0
            size = 40 + 25 * math.sqrt(killed)
            if view.conflicts:
                ax.scatter([x], [y], s=size * 1.6, facecolors="none", edgecolors=COLOURS["disputed"],
                           linewidths=2.2, zorder=4)
                ax.scatter([x], [y], s=12, color=COLOURS["disputed"], zorder=5)
            else:
                ax.scatter([x], [y], s=size, color=COLOURS["incident"], alpha=0.85, edgecolors="white",
                           linewidths=0.8, zorder=4)
        for view, x, y in sorted(placed, key=lambda item: (-(item[0].summary.killed.best or 0),
                                                           -len(item[0].conflicts)))[:8]:
            label = names.place(view.summary.place, lang)
            killed = view.summary.killed
            if killed.low is not None and killed.high is not None and killed.low != killed.high:
                label += f" ({killed.low}–{killed.high}{' ⚠' if view.conflicts else ''})"
            elif killed.best:
                label += f" ({killed.best})"
            ax.annotate(label, (x, y), xytext=(7, 5), textcoords="offset points", fontsize=8,
                        color=COLOURS["label"], zorder=6)
        ax.set_title(s["map_title"].format(day=format_day(day, lang)))
        if not views:
            ax.text(0.5, 0.5, s["nothing"].format(day=format_day(day, lang)), ha="center", va="center",
                    transform=ax.transAxes, fontsize=12)
        legend = [] if not placed else [plt.Line2D([], [], marker="o", linestyle="", color=COLOURS["incident"], label=s["map_incident"]),
                  plt.Line2D([], [], marker="o", linestyle="", markerfacecolor="none",
                             markeredgecolor=COLOURS["disputed"], markeredgewidth=2, label=s["map_disputed"])]
        if legend:
            ax.legend(handles=legend, loc="lower left", fontsize=8, frameon=False)
        fig.tight_layout()
        fig.canvas.draw()
        height = fig.canvas.get_width_height()[1]
        points = []
        for view, x, y in placed:
            px, py = ax.transData.transform((x, y))
            points.append(MapPoint(view.id, view.summary.place.name, float(px), float(height - py),
                                   bool(view.conflicts), view.summary.killed.best or 0))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
        return DayMap(buffer.getvalue(), tuple(points), left_out)
    finally:
        plt.close(fig)

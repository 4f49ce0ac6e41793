"""Benchmarks: they print tables of figures and are never part of the test suite.

``python -m bench`` runs them all; each module also runs alone (``python -m bench.bench_link``).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.engine.types import PostIn

DEV_CORPUS = Path(os.environ.get("CLAIMWATCH_DEV_CORPUS", Path(__file__).resolve().parents[2] / "shared/corpus/dev"))
NOT_EXPORTS = frozenset({"gold.json", "conflicts.json"})
KYIV = ZoneInfo("Europe/Kyiv")


@dataclass(frozen=True, slots=True)
class BenchPost:
    """A post to time, with the language its file is labelled with and the channel it came from."""

    lang: str
    post: PostIn
    source: str = ""  # the export's channel ref ("" for constructed posts)


def read_dev_posts(corpus: Path = DEV_CORPUS) -> list[BenchPost]:
    """The dev corpus posts, read in place (files end in ``_<lang>.json``)."""
    from bot.exports import read_export

    posts: list[BenchPost] = []
    for path in sorted(corpus.glob("*.json")):
        if path.name in NOT_EXPORTS:
            continue
        lang = path.stem.rsplit("_", 1)[-1]
        export = read_export(path, KYIV)
        posts.extend(BenchPost(lang, p, export.ref) for p in export.posts)
    return posts


_UNPINNED: set[int] = set()  # the CPUs this process could use before pin_one_core


def pin_one_core() -> str:
    """Pin this process to one CPU so figures mean "one core"; returns what was done."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        _UNPINNED.update(cpus)
        os.sched_setaffinity(0, {cpus[0]})
        return f"pinned to CPU {cpus[0]}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def unpin() -> str:
    """Undo ``pin_one_core`` (child processes inherit the affinity); returns the CPUs now usable."""
    try:
        if _UNPINNED:
            os.sched_setaffinity(0, _UNPINNED)
        return f"{len(os.sched_getaffinity(0))} CPUs"
    except (AttributeError, OSError):
        return f"{os.cpu_count()} CPUs"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Print (and return) a Markdown table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    numeric = [all(_is_number(row[i]) for row in rows) if rows else False for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric)) + "|"
    text = "\n".join([f"\n{title}\n", line(list(header)), sep, *(line(r) for r in cells)])
    print(text, flush=True)
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)

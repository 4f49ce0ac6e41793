"""Extraction throughput (posts/s on one core) beside bare spaCy pipelines with lemmatizers, and start-up time.

The set: the dev corpus posts repeated to about 2,000, plus constructed uk/ru/en posts (templates
filled with places, numbers and weapons, so their texts differ). Each post goes through
``Extractor.extract_claims`` (claimwatch's spaCy pipeline, one post at a time), the whole set
through ``Extractor.extract_many`` (``nlp.pipe`` per language), and, in the same run, each post
through the bare ``spacy.blank(lang)`` + spaCy's stock lemmatizer (pymorphy3 for uk and ru,
lookup tables for en). Times are the process's CPU seconds (one core), best of the passes, so
that other work on the machine does not move the ratio. Run: ``python -m bench.bench_extract``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bench import KYIV, BenchPost, median, pin_one_core, print_table, read_dev_posts
from bot.engine.types import PostIn

ROOT = Path(__file__).resolve().parents[1]

# (nominative, locative, genitive) per language; English uses one form.
PLACES_UK = [("Харків", "Харкові", "Харкова"), ("Київ", "Києві", "Києва"), ("Одеса", "Одесі", "Одеси"),
             ("Запоріжжя", "Запоріжжі", "Запоріжжя"), ("Дніпро", "Дніпрі", "Дніпра"), ("Херсон", "Херсоні", "Херсона"),
             ("Миколаїв", "Миколаєві", "Миколаєва"), ("Суми", "Сумах", "Сум"), ("Чернігів", "Чернігові", "Чернігова"),
             ("Краматорськ", "Краматорську", "Краматорська"), ("Львів", "Львові", "Львова"),
             ("Житомир", "Житомирі", "Житомира")]
PLACES_RU = [("Харьков", "Харькове", "Харькова"), ("Киев", "Киеве", "Киева"), ("Одесса", "Одессе", "Одессы"),
             ("Запорожье", "Запорожье", "Запорожья"), ("Днепр", "Днепре", "Днепра"), ("Херсон", "Херсоне", "Херсона"),
             ("Николаев", "Николаеве", "Николаева"), ("Сумы", "Сумах", "Сум"), ("Чернигов", "Чернигове", "Чернигова"),
             ("Краматорск", "Краматорске", "Краматорска"), ("Львов", "Львове", "Львова"),
             ("Житомир", "Житомире", "Житомира")]
PLACES_EN = ["Kharkiv", "Kyiv", "Odesa", "Zaporizhzhia", "Dnipro", "Kherson", "Mykolaiv", "Sumy", "Chernihiv",
             "Kramatorsk", "Lviv", "Zhytomyr"]

TEMPLATES_UK = [
    "Внаслідок ракетного удару по {loc} загинули {k} людей, ще {i} поранені, повідомив голова ОВА.",
    "Окупанти обстріляли {gen} з артилерії. Загинула {k} людина, {i} мешканців отримали поранення.",
    "Вночі російські дрони атакували {nom}. Пошкоджено житловий будинок, щонайменше {i} поранених.",
    "У {loc} пролунали вибухи: ворог завдав удару по обʼєкту інфраструктури. Попередньо, {k} загиблих.",
    "Російська армія завдала авіаудару по {loc}, зруйновано школу. Загинули {k}, серед них дитина.",
    "За даними ДСНС, у {loc} після обстрілу загинули {k} осіб, поранено близько {i}.",
]
TEMPLATES_RU = [
    "В результате ракетного удара по {loc} погибли {k} человек, еще {i} ранены, сообщил глава администрации.",
    "ВСУ обстреляли {nom} из РСЗО. Погиб {k} мирный житель, {i} человек получили ранения.",
    "Ночью беспилотники атаковали {nom}. Поврежден жилой дом, по меньшей мере {i} раненых.",
    "В {loc} прогремели взрывы, удар пришелся по объекту инфраструктуры. По предварительным данным, {k} погибших.",
    "Российские войска взяли под контроль окраины {gen}, заявили в Минобороны России.",
    "По данным МЧС, в {loc} после обстрела погибли {k} человек, около {i} пострадали.",
]
TEMPLATES_EN = [
    "A Russian missile strike on {nom} killed {k} people and injured {i}, the regional governor said.",
    "Russian forces shelled {nom} overnight. {k} civilians were killed and {i} wounded, officials said.",
    "Drones attacked {nom} early on Tuesday, damaging an apartment block; at least {i} people were hurt.",
    "Explosions were heard in {nom} after a strike on an energy facility, with {k} dead according to preliminary data.",
    "An airstrike hit a school in {nom}, killing {k} people including a child, the mayor said.",
    "Ukrainian officials said about {i} people were injured and {k} killed in the shelling of {nom}.",
]


def constructed_posts(count: int, seed: int = 7) -> list[BenchPost]:
    """``count`` posts in equal thirds uk/ru/en, each text distinct (numbers and extra clauses vary)."""
    rng = random.Random(seed)
    start = datetime(2022, 3, 1, 9, 0, tzinfo=KYIV)
    out: list[BenchPost] = []
    extras = {"uk": ["Триває ліквідація наслідків.", "Рятувальники працюють на місці.", ""],
              "ru": ["На месте работают спасатели.", "Информация уточняется.", ""],
              "en": ["Rescuers are working at the scene.", "The information is being clarified.", ""]}
    for n in range(count):
        lang = ("uk", "ru", "en")[n % 3]
        k, i = rng.randint(1, 40), rng.randint(2, 120)
        if lang == "en":
            place = rng.choice(PLACES_EN)
            text = rng.choice(TEMPLATES_EN).format(nom=place, k=k, i=i)
        else:
            nom, loc, gen = rng.choice(PLACES_UK if lang == "uk" else PLACES_RU)
            text = rng.choice(TEMPLATES_UK if lang == "uk" else TEMPLATES_RU).format(nom=nom, loc=loc, gen=gen, k=k, i=i)
        text = f"{text} {rng.choice(extras[lang])}".strip()
        posted = start + timedelta(hours=n)
        out.append(BenchPost(lang, PostIn(message_id=n + 1, posted_at=posted, text=text)))
    return out


def spacy_pipelines() -> dict[str, Callable[[str], object]]:
    """The bare baseline: a blank pipeline with a lemmatizer per language."""
    import spacy

    pipes: dict[str, Callable[[str], object]] = {}
    for lang, mode in (("uk", "pymorphy3"), ("ru", "pymorphy3"), ("en", "lookup")):
        nlp = spacy.blank(lang)
        nlp.add_pipe("lemmatizer", config={"mode": mode})
        nlp.initialize()
        pipes[lang] = nlp
    return pipes


def _time_best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


_STARTUP_SNIPPET = """
import json, os, time
t0 = time.perf_counter()
from bot.engine.extract import Extractor
from bot.engine.gazetteer import Gazetteer
t1 = time.perf_counter()
cache = os.environ.get("CLAIMWATCH_CACHE_DIR")  # the entry point's setting; the engine reads no environment
Extractor.load(Gazetteer.load(cache or None))
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""

_SPACY_STARTUP_SNIPPET = """
import json, time
t0 = time.perf_counter()
import spacy
t1 = time.perf_counter()
for lang, mode in (("uk", "pymorphy3"), ("ru", "pymorphy3"), ("en", "lookup")):
    nlp = spacy.blank(lang)
    nlp.add_pipe("lemmatizer", config={"mode": mode})
    nlp.initialize()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""


def _startup(snippet: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Time a snippet in a fresh interpreter (so no in-process cache helps)."""
    proc = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_startup(cold: bool, repeat: int) -> list[list[object]]:
    rows: list[list[object]] = []
    warm = [_startup(_STARTUP_SNIPPET) for _ in range(repeat)]
    rows.append(["Extractor.load(), gazetteer cache warm", median([w["import"] for w in warm]),
                 median([w["load"] for w in warm])])
    if cold:
        with tempfile.TemporaryDirectory(prefix="claimwatch-bench-cache-") as tmp:
            built = _startup(_STARTUP_SNIPPET, {"CLAIMWATCH_CACHE_DIR": tmp})
        rows.append(["Extractor.load(), cache cold (index built)", built["import"], built["load"]])
    bare = [_startup(_SPACY_STARTUP_SNIPPET) for _ in range(repeat)]
    rows.append(["3 × spacy.blank + lemmatizer + initialize()", median([b["import"] for b in bare]),
                 median([b["load"] for b in bare])])
    return rows


def bench_throughput(sets: Sequence[tuple[str, list[BenchPost]]], repeat: int) -> list[list[object]]:
    from bot.engine.extract import Extractor

    extractor = Extractor.load()
    pipes = spacy_pipelines()
    rows: list[list[object]] = []
    for name, posts in sets:
        def full(posts: list[BenchPost] = posts) -> int:
            return sum(len(extractor.extract_claims(p.post.text, posted_at=p.post.posted_at, lang=p.lang))
                       for p in posts)

        def batched(posts: list[BenchPost] = posts) -> int:
            return sum(map(len, extractor.extract_many([(p.post.text, p.post.posted_at, None, p.lang) for p in posts])))

        def bare(posts: list[BenchPost] = posts) -> None:
            for p in posts:
                pipes[p.lang](p.post.text)

        # one untimed pass each, so all start with their per-word caches as warm as the others'
        claims = full()
        batched()
        bare()
        full_s, pipe_s, bare_s = _time_best(full, repeat), _time_best(batched, repeat), _time_best(bare, repeat)
        rows.append([f"{name}: claimwatch extract_claims", len(posts), claims, full_s, len(posts) / full_s,
                     bare_s / full_s])
        rows.append([f"{name}: claimwatch extract_many (nlp.pipe)", len(posts), claims, pipe_s, len(posts) / pipe_s,
                     bare_s / pipe_s])
        rows.append([f"{name}: bare spaCy + lemmatizer", len(posts), "–", bare_s, len(posts) / bare_s, 1.0])
    return rows


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_extract", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000, help="dev posts repeated to about this many")
    parser.add_argument("--constructed", type=int, default=600, help="constructed uk/ru/en posts")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--no-cold", action="store_true", help="skip building the gazetteer in a temp cache dir")
    args = parser.parse_args(argv)

    print(f"extraction benchmark: {pin_one_core()}", flush=True)
    dev = read_dev_posts()
    repeated = (dev * (args.posts // len(dev) + 1))[:args.posts]
    made = constructed_posts(args.constructed)
    by_lang = {lang: sum(1 for p in repeated + made if p.lang == lang) for lang in ("uk", "ru", "en")}
    print(f"{len(dev)} dev posts repeated to {len(repeated)}, {len(made)} constructed; by language {by_lang}")

    tables = [print_table(
        "Extraction throughput (one core, best of %d passes)" % args.repeat,
        ["set and pipeline", "posts", "claims", "CPU s", "posts/s", "speed vs bare"],
        bench_throughput([("dev ×%d" % round(len(repeated) / len(dev)), repeated), ("constructed", made),
                          ("all", repeated + made)], args.repeat),
    )]
    tables.append(print_table(
        "Start-up (fresh interpreter each; median of %d, cold built once)" % args.repeat,
        ["what", "import s", "load s"],
        bench_startup(not args.no_cold, args.repeat),
    ))
    return tables


if __name__ == "__main__":
    main()

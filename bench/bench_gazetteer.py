"""Gazetteer benchmark: load time from the cache, build time, and sentences and mentions per second.

Run: PYTHONPATH=. .venv/bin/python bench/bench_gazetteer.py [--build]
(--build also times a full build into a temporary directory: several seconds.)
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from bot.engine.gazetteer import Gazetteer

_TOKEN = re.compile(r"\w+(?:['’ʼ]\w+)*|[^\w\s]")

SENTENCES = [
    ("uk", "Вибухи у Харкові та Києві, обстріл Херсона."),
    ("uk", "У Маріуполі, Кривому Розі та Запоріжжі оголошено тривогу."),
    ("uk", "Обстріл села Мирне Запорізької області, поранено двох людей."),
    ("uk", "Голова Харківської ОВА повідомив про удар по Ізюму та Куп'янську."),
    ("ru", "Взрывы в Белгороде и Курской области, сбиты беспилотники над Брянском."),
    ("ru", "Удар по зданию Харьковской обладминистрации, погибли трое."),
    ("ru", "ВСУ обстреляли Шебекино и Грайворон, сообщил губернатор."),
    ("en", "Russian missiles hit Kyiv, Odesa and the Kharkiv region overnight."),
    ("en", "Fighting continues near Pokrovsk and Chasiv Yar, the General Staff said."),
    ("en", "A rally took place on Freedom Square in the capital of Ukraine."),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", action="store_true", help="also time a full build in a temporary directory")
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()

    if args.build:
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            Gazetteer.load(Path(directory))
            print(f"build (no cache): {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    gazetteer = Gazetteer.load()
    print(f"load from cache: {time.perf_counter() - started:.3f} s ({len(gazetteer.places)} places)")

    tokenized = [(lang, _TOKEN.findall(text)) for lang, text in SENTENCES]
    started = time.perf_counter()
    first = sum(len(gazetteer.find_mentions(tokens, lang)) for lang, tokens in tokenized)
    print(f"first pass (cold morphology cache): {time.perf_counter() - started:.3f} s, {first} mentions")

    started = time.perf_counter()
    found = 0
    for _ in range(args.rounds):
        for lang, tokens in tokenized:
            found += len(gazetteer.find_mentions(tokens, lang))
    elapsed = time.perf_counter() - started
    sentences = args.rounds * len(tokenized)
    print(f"{sentences / elapsed:,.0f} sentences/s, {found / elapsed:,.0f} mentions/s (warm)")


if __name__ == "__main__":
    main()

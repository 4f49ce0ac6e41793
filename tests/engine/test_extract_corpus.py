"""Extraction on real text: the dev gold corpus and the seed article."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo


from bot.engine.types import Kind, Qualifier, Side
from bot.exports import read_export

KYIV = ZoneInfo("Europe/Kyiv")


def _gold_posts(dev_corpus):  # type: ignore[no-untyped-def]
    gold = json.loads((dev_corpus / "gold.json").read_text(encoding="utf-8"))
    exports = {f.name: read_export(f, KYIV) for f in dev_corpus.glob("*.json") if f.name not in ("gold.json", "conflicts.json")}
    for message in gold:
        export = exports[message["file"]]
        post = next(p for p in export.posts if p.message_id == int(message["id"]))
        yield message, post


def test_every_gold_claim_is_found_with_its_figures(dev_corpus, extractor):  # type: ignore[no-untyped-def]
    missed, wrong = [], []
    for message, post in _gold_posts(dev_corpus):
        claims = extractor.extract_claims(post.text, posted_at=post.posted_at)
        for g in message["claims"]:
            found = [c for c in claims if c.place.name == g["place"]
                     and (c.kind is Kind.CONTROL) == (g["kind"] == "control")
                     and (g["controller"] is None or c.controller and c.controller.value == g["controller"])]
            if not found:
                missed.append(f"{message['file']}#{message['id']} {g['kind']} {g['place']}")
                continue
            c = max(found, key=lambda x: sum(getattr(x, f) == g[f] for f in ("killed", "injured", "children_killed")))
            for field in ("killed", "injured", "children_killed"):
                if getattr(c, field) != g[field]:
                    wrong.append(f"{message['file']}#{message['id']} {field} {getattr(c, field)} != {g[field]}")
            if c.place.oblast != g["oblast"]:
                wrong.append(f"{message['file']}#{message['id']} oblast {c.place.oblast} != {g['oblast']}")
        if not message["claims"]:
            assert claims == [], f"{message['file']}#{message['id']} asserts no incident"
    assert not missed and not wrong, missed + wrong


def test_seed_article_kharkiv_paragraph(seed_article, extractor):  # type: ignore[no-untyped-def]
    first = seed_article.strip().split("\n\n")[0]
    claims = extractor.extract_claims(first, posted_at=datetime(2022, 3, 2, 12, tzinfo=KYIV), lang="en")
    kharkiv = [c for c in claims if c.place.name == "Kharkiv"]
    assert len(kharkiv) == 1
    claim = kharkiv[0]
    assert (claim.killed, claim.qualifier, claim.injured, claim.children_killed) == (21, Qualifier.AT_LEAST, 112, 3)
    assert claim.kind is Kind.MISSILE


def test_seed_article_kherson_paragraphs_disagree(seed_article, extractor):  # type: ignore[no-untyped-def]
    start = seed_article.index("In the south")
    paragraph = seed_article[start:seed_article.index("\n", start)]
    claims = extractor.extract_claims(paragraph, posted_at=datetime(2022, 3, 2, 12, tzinfo=KYIV), lang="en")
    control = {c.controller for c in claims if c.kind is Kind.CONTROL and c.place.name == "Kherson"}
    assert control == {Side.RUSSIA, Side.UKRAINE}

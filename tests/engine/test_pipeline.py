"""Extraction runs through spaCy pipelines: one per language, claimwatch's registered components
after the lemmatizer, batches through ``nlp.pipe``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import spacy

from bot.engine.pipeline import STAGES
from bot.engine.types import Kind, Side
from bot.exports import read_export

KYIV = ZoneInfo("Europe/Kyiv")
POSTED = datetime(2024, 5, 14, 10, 0, tzinfo=KYIV)


def test_each_language_has_its_pipeline_with_claimwatchs_components(extractor):  # type: ignore[no-untyped-def]
    for lang in ("uk", "ru", "en"):
        nlp = extractor.nlp(lang)
        assert isinstance(nlp, spacy.Language) and nlp.lang == lang
        assert nlp.pipe_names == ["claimwatch_lemmatizer", "claimwatch_sentences", *STAGES]
        assert extractor.nlp(lang) is nlp  # built once, reused


def test_the_doc_carries_sentences_lemmas_and_claims(extractor):  # type: ignore[no-untyped-def]
    text = "Внаслідок удару по Харкову загинули троє людей.\n\nЩе п'ятеро поранені, повідомив Олег Синєгубов."
    doc = extractor.make_doc(text, POSTED, None, "uk")
    doc = extractor.nlp("uk")(doc)
    assert doc.text == text
    assert [s.text.strip() for s in doc.sents] == ["Внаслідок удару по Харкову загинули троє людей.",
                                                    "Ще п'ятеро поранені, повідомив Олег Синєгубов."]
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["загинули"] == "загинути" and lemmas["людей"] == "людина"
    [claim] = doc._.claims
    assert (claim.place.name, claim.killed, claim.injured) == ("Kharkiv", 3, 5)
    assert claim.claimant == "Kharkiv regional governor (Synehubov)"


def test_a_batch_through_nlp_pipe_gives_what_one_post_at_a_time_gives(dev_corpus, extractor):  # type: ignore[no-untyped-def]
    posts = []
    for path in sorted(dev_corpus.glob("*.json")):
        if path.name not in ("gold.json", "conflicts.json"):
            posts.extend(read_export(path, KYIV).posts)
    one_by_one = [extractor.extract_claims(p.text, posted_at=p.posted_at) for p in posts]
    batched = extractor.extract_many([(p.text, p.posted_at, None, None) for p in posts], batch_size=4)
    assert batched == one_by_one
    assert sum(map(len, batched)) >= len(posts) // 2  # the dev posts do assert claims


def test_a_mixed_batch_keeps_the_posts_order(extractor):  # type: ignore[no-untyped-def]
    posts = [("Russian forces shelled Kherson; two people were killed, the governor said.", POSTED, None, None),
             ("", POSTED, None, None),
             ("Минобороны России заявило, что Херсон полностью под контролем российских войск.", POSTED, None, None),
             ("Окупанти обстріляли Нікополь, поранено чотирьох людей.", POSTED, None, None)]
    first, empty, control, last = extractor.extract_many(posts)
    assert empty == []
    assert first[0].place.name == "Kherson" and first[0].killed == 2
    assert control[0].kind is Kind.CONTROL and control[0].controller is Side.RUSSIA
    assert last[0].place.name == "Nikopol" and last[0].injured == 4


def test_a_component_used_before_it_is_initialized_says_so(extractor):  # type: ignore[no-untyped-def]
    nlp = spacy.blank("en")
    nlp.add_pipe("claimwatch_sentences")
    nlp.add_pipe("claimwatch_places")
    with pytest.raises(ValueError, match="claimwatch_places is not initialized"):
        nlp("Kyiv was attacked.")


@pytest.mark.parametrize("lang", ["uk", "ru", "en", None])
def test_a_character_the_lemmatizer_cannot_read_loses_nothing_around_it(extractor, lang):  # type: ignore[no-untyped-def]
    """pymorphy3 fails on characters Unicode gives no name ('𗀀'); the post's claims still come out."""
    claims = extractor.extract_claims("Харків 𗀀 обстріл, загинули двоє людей.", posted_at=POSTED, lang=lang)
    assert [(c.place.name, c.killed) for c in claims] == [("Kharkiv", 2)]

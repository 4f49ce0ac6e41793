"""The control phrases written on lemmas (``data/control_phrases.jsonl``, spaCy Matcher patterns):
one pattern covers each inflected form of its words, and a bad pattern file is refused with a
one-line message that names it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.control import GROUPS
from bot.engine.control_phrases import ControlPhrases
from bot.engine.types import Kind, Side

POSTED = datetime(2024, 10, 2, 9, 30, tzinfo=ZoneInfo("Europe/Kyiv"))
R, U = Side.RUSSIA, Side.UKRAINE


@pytest.mark.parametrize(("text", "expected"), [
    # a denial in the present, the past, the passive and as a noun: the denier's side holds the town
    ("Генштаб ЗСУ спростовує інформацію про захоплення Торецька.", {R, U}),
    ("Генштаб ЗСУ спростував інформацію про захоплення Торецька.", {R, U}),
    ("Інформацію про захоплення Торецька спростовано, повідомили в Генштабі ЗСУ.", {R, U}),
    ("Генштаб ЗСУ оприлюднив спростування інформації про захоплення Торецька.", {R, U}),
    ("В ВСУ опровергают заявления о взятии Торецка.", {R, U}),
    ("Ukraine's General Staff is denying reports of the capture of Toretsk.", {R, U}),
    # a withdrawal named by a noun in any case: the other side holds the town
    ("Генштаб ЗСУ повідомив про завершення відходу з Торецька.", {R}),
    ("Минобороны России сообщило о завершении отвода войск из Изюма.", {U}),
    ("Минобороны России объявило о выводе войск из Изюма.", {U}),
    # silence in any tense is no claim: only the reported capture stays
    ("DeepState повідомив про окупацію Торецька, але Генштаб ЗСУ цього не підтверджує.", {R}),
    ("DeepState сообщил об оккупации Торецка, но в ВСУ этого не признают.", {R}),
])
def test_each_inflected_form_of_a_lemma_pattern(extractor, text, expected):  # type: ignore[no-untyped-def]
    claims = [c for c in extractor.extract_claims(text, posted_at=POSTED) if c.kind is Kind.CONTROL]
    assert {c.controller for c in claims} == expected, [c.as_dict() for c in claims]


@pytest.mark.parametrize(("rows", "message"), [
    ([{"label": "captures", "pattern": [{"LEMMA": "захопити"}]}], "needs a label among"),
    ([{"label": "capture", "pattern": []}], "needs a label among"),
    ([{"label": "capture", "pattern": [{"OP": "?", "LOWER": "x"}, {"IS_ALPHA": True}]}], "needs a required LEMMA"),
    ([{"label": "capture", "pattern": [{"LEMMA": "захопити", "COLOUR": "red"}]}], "bad pattern"),
])
def test_a_bad_pattern_is_refused_with_one_line(rows, message):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message) as err:
        ControlPhrases(rows, GROUPS, "control_phrases.jsonl")
    assert "control_phrases.jsonl" in str(err.value) and "\n" not in str(err.value)


def test_explain_names_the_lemma_pattern_that_found_the_statement(extractor):  # type: ignore[no-untyped-def]
    explained = extractor.explain_claims("Генштаб ЗСУ спростовує інформацію про захоплення Торецька.",
                                         posted_at=POSTED, lang="uk")
    rules = {c.controller: why["controller"].rule for c, why in explained if c.kind is Kind.CONTROL}
    assert "control_phrases.jsonl deny-uk" in rules[U]
    assert "control_phrases.jsonl capture-noun-uk" in rules[R]

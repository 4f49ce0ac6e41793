"""``extract --explain``: each field of each claim names the component, the rule and the words that
gave it; explaining changes nothing in what is extracted."""

from __future__ import annotations

import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.engine.types import Kind, Side

KYIV = ZoneInfo("Europe/Kyiv")
POSTED = datetime(2024, 3, 3, 12, tzinfo=KYIV)

UK_TOLL = ("Унаслідок ракетного удару по Одесі кількість загиблих зросла до 20 осіб, серед них троє дітей. "
           "Про це повідомив голова ОВА Олег Кіпер.")
RU_CONTROL = ("Минобороны России заявило, что российские войска взяли под контроль город Часов Яр. "
              "Генштаб ВСУ опроверг это: бои продолжаются на окраинах города.")
EN_STRIKE = ("A Russian missile strike on Kharkiv killed seven people and injured at least 25, "
             "Governor Oleh Syniehubov said.")
EN_WITHDRAWAL = "Ukrainian troops have withdrawn from Avdiivka, army chief Oleksandr Syrskyi said on Saturday."
TEXTS = [(UK_TOLL, "uk"), (RU_CONTROL, "ru"), (EN_STRIKE, "en"), (EN_WITHDRAWAL, "en")]


def _explained(extractor, text, lang):  # type: ignore[no-untyped-def]
    return extractor.explain_claims(text, posted_at=POSTED, lang=lang)


def test_a_rising_toll_names_the_toll_verb_and_its_words(extractor):  # type: ignore[no-untyped-def]
    [(claim, why)] = _explained(extractor, UK_TOLL, "uk")
    assert (claim.place.name, claim.killed, claim.children_killed) == ("Odesa", 20, 3)
    killed = why["killed"]
    assert killed.component == "counts" and "lexicon.toll_verbs" in killed.rule
    assert "зросла до 20" in killed.words and killed.sentence == 0
    assert why["children_killed"].component == "counts" and "троє дітей" in why["children_killed"].words
    assert why["place"].component == "places" and why["place"].words == "Одесі"
    assert why["kind"].rule == "lexicon.kinds.specific.missile" and why["kind"].words == "ракетного"
    # the claimant is credited in the next sentence: that sentence, its row and its speech verb
    claimant = why["claimant"]
    assert claimant.component == "claimant" and claimant.sentence == 1
    assert "officials.tsv" in claimant.rule and "Кіпер" in claimant.words and "повідомив" in claimant.words


def test_a_count_with_a_qualifier_names_both(extractor):  # type: ignore[no-untyped-def]
    [(claim, why)] = _explained(extractor, EN_STRIKE, "en")
    assert (claim.killed, claim.injured) == (7, 25)
    assert why["killed"].component == "counts" and why["killed"].words == "killed seven"
    assert why["injured"].words == "injured at least 25"
    assert why["injured_qualifier"].rule == "lexicon.qualifiers.at_least" and why["injured_qualifier"].words == "at least"
    assert "no qualifier" in why["qualifier"].rule
    assert why["perpetrator"].component == "blame" and "Russian" in why["perpetrator"].words
    assert "officials.tsv" in why["claimant"].rule and "Syniehubov … said" in why["claimant"].words


def test_a_capture_and_its_denial_name_the_control_phrases(extractor):  # type: ignore[no-untyped-def]
    explained = _explained(extractor, RU_CONTROL, "ru")
    by_controller = {c.controller: (c, w) for c, w in explained if c.kind is Kind.CONTROL}
    claim, why = by_controller[Side.RUSSIA]
    assert why["controller"].component == "control" and why["controller"].rule.startswith("control.capture")
    assert why["controller"].words == "под контроль" and why["controller"].sentence == 0
    assert why["place"].words == "Часов Яр"
    # the Russian MoD says it; "российские войска" inside what it said are the captors, not a voice
    assert "institutions.tsv row 'Russian MoD'" in why["claimant"].rule and why["claimant"].words.startswith("Минобороны")
    claim, why = by_controller[Side.UKRAINE]
    assert why["controller"].rule.startswith("control.refute_verbs") and why["controller"].words == "опроверг"
    assert why["controller"].sentence == 1
    assert why["place"].sentence == 0  # "города": the town of the statement before


def test_a_withdrawal_says_the_other_side_holds_it(extractor):  # type: ignore[no-untyped-def]
    [(claim, why)] = _explained(extractor, EN_WITHDRAWAL, "en")
    assert claim.controller is Side.RUSSIA
    assert why["controller"].rule.startswith("control.withdraw") and "the other side holds it" in why["controller"].rule
    assert why["controller"].words == "withdrawn from"


def test_the_text_form_has_one_line_per_field(extractor):  # type: ignore[no-untyped-def]
    from bot.engine.extract import explain_lines

    [(claim, why)] = _explained(extractor, UK_TOLL, "uk")
    lines = explain_lines(claim, why)
    assert lines["killed"].startswith("killed = 20  ← counts · lexicon.toll_verbs")
    assert lines["killed"].endswith("«загиблих зросла до 20» · sentence 0")
    assert lines["date"] == "date = 2024-03-03  ← dates · no date in the text: the post's day"


@pytest.mark.parametrize(("text", "lang"), TEXTS)
def test_explaining_changes_nothing(extractor, text, lang):  # type: ignore[no-untyped-def]
    plain = extractor.extract_claims(text, posted_at=POSTED, lang=lang)
    assert plain and [c for c, _ in _explained(extractor, text, lang)] == plain


def test_explaining_changes_nothing_on_the_dev_corpus(dev_corpus, extractor):  # type: ignore[no-untyped-def]
    from bot.exports import read_export

    posts = [p for f in sorted(dev_corpus.glob("*.json")) if f.name not in ("gold.json", "conflicts.json")
             for p in read_export(f, KYIV).posts]
    assert posts
    for post in posts:
        plain = extractor.extract_claims(post.text, posted_at=post.posted_at)
        explained = extractor.explain_claims(post.text, posted_at=post.posted_at)
        assert [c for c, _ in explained] == plain, post.message_id
        for claim, why in explained:  # every field with a value is explained
            assert {"place", "kind", "claimant", "date"} <= set(why)
            assert all(f in why for f in ("killed", "injured", "controller", "perpetrator") if getattr(claim, f) is not None)


def test_cli_explain(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(EN_STRIKE))
    assert main(["extract", "--lang", "en", "--date", "2024-03-03", "--explain"]) == 0
    [claim] = json.loads(capsys.readouterr().out)["claims"]
    assert claim["killed"] == 7 and claim["explain"]["killed"]["component"] == "counts"
    assert claim["explain"]["killed"]["line"] == "killed = 7  ← counts · lexicon.kill_words (before the number) " \
                                                 "«killed seven» · sentence 0"
    monkeypatch.setattr("sys.stdin", io.StringIO(EN_STRIKE))
    assert main(["extract", "--lang", "en", "--date", "2024-03-03", "--explain", "text"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0])["killed"] == 7 and any(line.startswith("  killed = 7  ← counts") for line in out)
    monkeypatch.setattr("sys.stdin", io.StringIO(EN_STRIKE))
    assert main(["extract", "--lang", "en", "--date", "2024-03-03"]) == 0
    assert "explain" not in json.loads(capsys.readouterr().out)["claims"][0]

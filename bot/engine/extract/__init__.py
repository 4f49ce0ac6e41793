"""Claim extraction: turns one post's text into the incident claims it asserts.

The extractor reads a post sentence by sentence. In each sentence it finds place mentions
(through the gazetteer), kind cues, casualty counts with their qualifiers, control statements,
the attacker named, targets, weapons, the speaker and a date. It then assembles claims per
place: attack claims gather kind, counts and targets; control claims carry one controller each.
Each sentence belongs to a claimant: the one its attribution credits ("said X", "Про це повідомив
X", "Source: X"), else the last one credited; an attack post gives one claim per credited claimant
(an earlier differing figure apart), and blame a post reports of the other side ("accusing Russian
troops of attacking") is that side's claim.
All word lists live in ``data/lexicon.json``, ``data/numbers.json``, ``data/officials.tsv`` and
``data/institutions.tsv``.

Modules: ``extractor`` (the ``Extractor``: loading, pipelines, entry points), one module of rules
per pipeline component (``places``, ``kinds``, ``counts`` with ``count_context``, ``blame``,
``claimants``, ``dates``, ``assemble`` with ``control_claims``), ``facts`` (what is read and
built) and ``explain`` (where each field came from).
"""

from bot.engine.extract.explain import explain_lines
from bot.engine.extract.extractor import Extractor
from bot.engine.extract.facts import DATA_DIR, MAX_TEXT, Count, Draft, SentenceFacts, cut_point
from bot.engine.officials import Official

__all__ = ["DATA_DIR", "MAX_TEXT", "Count", "Draft", "Extractor", "Official", "SentenceFacts", "cut_point",
           "explain_lines"]

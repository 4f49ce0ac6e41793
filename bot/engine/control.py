"""Control statements: who holds a town, as a sentence of a post claims it.

A statement is one of five kinds, read from the phrases of ``data/control_phrases.jsonl`` (spaCy
``Matcher`` patterns on lemmas, see ``control_phrases``) and from the phrase lists in the ``control``
section of ``data/lexicon.json`` (regular expressions, kept where tense decides, as in "звільнили"
against "звільнимо", or punctuation and look-ahead do: "Херсон наш!", "has taken" but not "has
taken part"):

* ``capture``: a side took, liberated or holds (a share of) the town ("captured", "взятый под
  контроль", "звільнили", "90 % of the town"); negated ("has not captured") it is a ``hold``;
* ``entry``: troops entered the town; a claim only when nothing in the post contests it;
* ``withdraw``: a side withdrew from the town or lost it ("withdrawal of troops from", "наши
  военные отошли", "потеря контроля"): the other side holds it;
* ``hold``: the town is still held, not encircled, fighting goes on in it ("remains under
  Ukrainian control", "бої тривають у місті"): the defender holds it;
* ``refute``: a capture claim is denied ("спростували", "не соответствуют действительности"):
  the denier's side holds it.

Silence ("did not confirm") and wording that is not about holding a town (aspirations,
house-by-house advances, "temporarily occupied" as a description) give nothing. This module
finds the statements and the side each names; which claimant a statement is credited to, and
the side a statement that names none defaults to, are settled per post by the extractor with
``resolve_controller``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine.control_phrases import ControlPhrases
from bot.engine.control_voices import (
    ControlVoices,
    _Match,
)
from bot.engine.text import Token, any_of
from bot.engine.types import Side

# which phrase list wins where two overlap: the earlier in this order
GROUPS = ("not_control", "silence", "hold", "refute_verbs", "refute_predicates", "withdraw", "expel", "cleared",
          "capture", "share", "entry")
WORD_LISTS = ("fighting", "in_progress", "progressive_forms", "negation", "negation_exceptions", "speech_words",
              "report_words", "own_words", "enemy_words", "party_nouns", "town_words", "civilian_words",
              "alleged_words", "locative_words", "by_words", "attribution_openers", "dependent_words", "pronouns",
              "cleared_needs_side", "bank_words", "relative_words", "capital_parties")
# a town's "fall" with no side it fell to ("has fallen", "the fall of", "падіння", "падении")
_BARE_FALL = re.compile(r"(?:fallen|fall of|падіння|падении)$")
QUOTES = re.compile(r"[«»“”„\"'‘’]")


def _phrases(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """Phrases as whole words; a space in a phrase matches any run of spaces (" ?": none or some).
    None for an empty list (the group is written on lemmas only, ``control_phrases``)."""
    if not patterns:
        return None
    body = "|".join(p.replace(" ?", r"\s*").replace(" ", r"\s+") for p in patterns)
    return re.compile(r"(?<!\w)(?:" + body + r")(?!\w)")


def opposite(side: Side) -> Side:
    return Side.UKRAINE if side is Side.RUSSIA else Side.RUSSIA


def is_side_label(claimant: str | None) -> bool:
    """A claimant named only by its side ("Russian side (unnamed, as reported)")."""
    return claimant is not None and claimant.startswith(("Russian side", "Ukrainian side"))


@dataclass(frozen=True, slots=True)
class ControlHit:
    """One control statement in one sentence."""

    pos: int                   # token index of the statement
    kind: str                  # capture | entry | withdraw | hold | refute
    agent: Side | None         # the side the statement names (captor, side that left, holder, denier)
    relative: str | None       # "own" | "enemy": the side is named relative to the speaker
    flip: bool                 # the controller is the other side of the agent (a withdrawal, "has not captured")
    claimant: str | None       # the party the sentence credits with it, next to the phrase
    claimant_side: Side | None
    reported: bool             # the post reports it as another party's claim
    town_word: bool            # it refers to "the city" rather than naming it
    default: Side | None       # the side its wording implies when nothing else decides ("звільнено", "occupied")
    alleged: bool              # "allegedly", with nobody credited
    fighting: bool             # a holding statement that is only "fighting goes on"
    share: bool                # a claim to a share of the town (needs a named side)
    refuted: bool = False          # a capture the same sentence denies ("reports of the capture of X are false")
    progressive: bool = False      # "освобождая", "liberating": an advance when the post says troops are advancing
    speaker_unknown: bool = False  # the sentence names an official only as someone's superior ("an adviser to X")
    anonymous: bool = False        # ... or its speech verb has a subject the officials' lists do not know
    aside: bool = False            # in a relative clause the writer adds ("..., which Ukrainian forces had liberated")
    group: str = ""                # the phrase list that matched (GROUPS), and its characters in the sentence: for --explain
    span: tuple[int, int] = (0, 0)


class ControlReader(ControlVoices):
    """Finds control statements in a sentence; built once from the lexicon's ``control`` section."""

    def __init__(self, control: dict[str, Any], source: str = "lexicon.json") -> None:
        missing = [k for k in (*GROUPS, *WORD_LISTS, "reported_sources", "holder_nouns", "default_sides")
                   if k not in control]
        if missing:
            raise ValueError(f"{source}: the control section lacks {', '.join(missing)}")
        self.phrases: ControlPhrases | None = None
        try:
            self._groups = [(name, _phrases(control[name])) for name in GROUPS]
            # whether a sentence has any control phrase at all (most have none), before each group is tried
            self._any_group = re.compile("|".join(f"(?:{p.pattern})" for _, p in self._groups if p) or "(?!)")
            self._fighting = any_of(control["fighting"])
            self._in_progress = _phrases(control["in_progress"]) or re.compile("(?!)")
            self._progressive = any_of(control["progressive_forms"])
            self._negation = re.compile(r"(?:" + "|".join(control["negation"]) + r")(?:\s+[\w-]+){0,2}\s*$")
            self._negation_exceptions = _phrases(control["negation_exceptions"]) or re.compile("(?!)")
            self._speech = any_of(control["speech_words"])
            self._report = any_of(control["report_words"])
            self._own = any_of(control["own_words"])
            self._enemy = any_of(control["enemy_words"])
            self._party = any_of(control["party_nouns"])
            self._town = any_of(control["town_words"])
            self._civilian = any_of(control["civilian_words"])
            self._alleged = _phrases(control["alleged_words"]) or re.compile("(?!)")
            self._locative = any_of(control["locative_words"])
            self._by = any_of(control["by_words"])
            self._openers = _phrases(control["attribution_openers"]) or re.compile("(?!)")
            self._dependent = any_of(control["dependent_words"])
            self._pronoun = any_of(control["pronouns"])
            self._cleared_weak = any_of(control["cleared_needs_side"])
            self._bank = any_of(control["bank_words"])
            self._relative_words = any_of(control["relative_words"])
            self.capitals = frozenset(control["capital_parties"])  # places that, next to another, stand for a government
            self._sources = [(re.compile(r"(?<!\w)(?:" + row[0].replace(" ?", r"\s*").replace(" ", r"\s+") + r")(?!\w)"),
                              row[1], Side(row[2]) if row[2] else None)
                             for row in control["reported_sources"]]
            self._holders = [(any_of(words), Side(side)) for side, words in control["holder_nouns"].items()]
            self._defaults = [(re.compile("(?:" + "|".join(prefixes) + ")"), Side(side))
                              for side, prefixes in control["default_sides"].items()]
        except (re.error, ValueError, IndexError) as exc:
            raise ValueError(f"{source}: bad control pattern: {exc}") from exc

    # ------------------------------------------------------------------ matching

    def use_phrases(self, phrases: ControlPhrases) -> None:
        """The lemma patterns (``data/control_phrases.jsonl``), loaded by the control component's initialize()."""
        self.phrases = phrases

    def matches(self, text: str, tokens: list[Token]) -> list[_Match]:
        """Every phrase found in the quote-blanked text (regular expressions) and in the sentence's
        lemmas (``control_phrases``), overlaps settled by GROUPS order, then the longest first."""
        if self.phrases is None:
            raise ValueError("the control phrases are not loaded: initialize the claimwatch_control component")
        on_lemmas = self.phrases.find(tokens)
        found: list[_Match] = []
        if not on_lemmas and not self._any_group.search(text):
            return found
        for name, pattern in self._groups:
            spans = [(*m.span(), "") for m in pattern.finditer(text)] if pattern is not None else []
            spans += [(start, end, f"control_phrases.jsonl {pid}") for start, end, group, pid in on_lemmas if group == name]
            for start, end, source in sorted(spans, key=lambda s: (s[0], s[0] - s[1])):
                if any(f.start < end and start < f.end for f in found):
                    continue
                found.append(_Match(start, end, name, source))
        return sorted(found, key=lambda f: f.start)

    def is_dependent(self, tokens: list[Token], pos: int) -> bool:
        """An official named as someone's superior: "an adviser to President Zelensky", "радник Єрмака"."""
        return any(t.is_word and self._dependent.fullmatch(t.lower) for t in tokens[max(0, pos - 5):pos])

    def named_town(self, tokens: list[Token], pos: int) -> bool:
        """A place introduced as a town: "місто Ізюм", "города Курахово", "the city of Lyman"."""
        before = [t.lower for t in tokens[max(0, pos - 2):pos]]
        return bool(before) and (bool(self._town.fullmatch(before[-1])) or (
            len(before) == 2 and before[1] == "of" and bool(self._town.fullmatch(before[0]))))

    def river_bank(self, tokens: list[Token], pos: int) -> bool:
        """A river named by its bank ("правого берега Днепра"), not a town."""
        return pos > 0 and bool(self._bank.fullmatch(tokens[pos - 1].lower))

    def in_progress(self, sentence: str) -> bool:
        """Troops advancing, fighting house by house: the town is being fought for, not taken."""
        return bool(self._in_progress.search(QUOTES.sub(" ", sentence.lower())))

    def opens_with_attribution(self, sentence: str) -> bool:
        """'Про це повідомив X', 'Об этом сообщил X': the sentence credits the one before it."""
        return bool(self._openers.match(QUOTES.sub(" ", sentence.lower()).lstrip(" —–-")))

    @staticmethod
    def side_words(text: str) -> Side | None:
        """A side named by an adjective or abbreviation in a short stretch of text."""
        if re.search(r"(?<!\w)(?:russian|russia|russia's|російськ\w*|росії|россии|российск\w*|рф|росс?ия)(?!\w)", text):
            return Side.RUSSIA
        if re.search(r"(?<!\w)(?:ukrainian|ukraine|ukraine's|українськ\w*|україни|украинск\w*|украины|зсу|всу|afu)(?!\w)",
                     text):
            return Side.UKRAINE
        # the forces each side's officials name without a country: "Сили оборони", "окупанти", "invaders"
        if re.search(r"(?<![\w-])(?:сил\w* оборон\w*|defen[cs]e forces)(?!\w)", text):
            return Side.UKRAINE
        if re.search(r"(?<![\w-])(?:окупант\w*|оккупант\w*|рашист\w*|загарбник\w*|invaders|occupiers|occupation|"
                     r"окупаці\w*|оккупаци\w*)(?!\w)", text):
            return Side.RUSSIA
        return None

    # ------------------------------------------------------------------ one sentence

    def read(self, tokens: list[Token], lower: str, tok_at: Callable[[int], int],
             actors: list[tuple[int, Side]], speakers: list[tuple[int, str, Side | None]],
             speaker_unknown: bool = False) -> list[ControlHit]:
        """The control statements of one sentence.

        Args:
            tokens: the sentence's tokens; lower: its lower-cased text (same offsets).
            tok_at: the token index of a character offset.
            actors: (token index, side) of parties named in the sentence ("Russian troops", "ЗСУ").
            speakers: (token index, claimant, side) of officials and bodies named in the sentence.
            speaker_unknown: the sentence names an official only as the superior of the one speaking.

        Returns:
            The statements in text order.
        """
        text = QUOTES.sub(" ", lower)
        found = self.matches(text, tokens)
        if not any(m.group not in ("not_control", "silence") for m in found):
            return []
        actors = self._parties(tokens, actors)
        marks = [i for i, t in enumerate(tokens)
                 if t.text in (",", ";", ":", "(", ")", "—", "–") or t.lower in (
                     "but", "however", "while", "although", "але", "однак", "проте", "однако", "но", "а", "хотя")]
        silences = [m for m in found if m.group == "silence"]
        refutes = [m for m in found if m.group.startswith("refute")]
        sources = [(tok_at(m.start()), label, side) for pattern, label, side in self._sources
                   for m in pattern.finditer(text)]
        # a party inside a control phrase is what the phrase is about ("подтвердил вывод украинских войск"), not a voice
        inside = {p for m in found if m.group not in ("not_control", "silence")
                  for p in range(tok_at(m.start), tok_at(max(m.start, m.end - 1)) + 1)}
        voiced = self._voiced(tokens, [a for a in actors if a[0] not in inside], speakers)
        # a speech verb with a subject we cannot name ("мэр города написал"): not the last speaker's words
        unnamed_speaker = not voiced and any(
            self._is_speech_verb(tokens, i) and not any(
                u.is_word and self._pronoun.fullmatch(u.lower) for u in tokens[max(0, i - 2):i + 3])
            for i, t in enumerate(tokens))
        hits: list[ControlHit] = []
        for m in found:
            if m.group in ("not_control", "silence"):
                continue
            pos = tok_at(m.start)
            phrase = text[m.start:m.end]
            before = text[max(0, m.start - 40):m.start]
            silenced = m.group in ("capture", "entry", "withdraw", "cleared", "share") and any(
                s.end <= m.start and pos - tok_at(s.end) <= 8 for s in silences)
            negated = not silenced and bool(self._negation.search(before)) and not self._negation_exceptions.search(
                text[max(0, m.start - 20):m.end])
            progressive = m.group in ("capture", "entry") and bool(self._progressive.fullmatch(phrase.split()[0]))
            agent, relative = self._agent(m, phrase, text, tokens, pos, actors, marks)
            kind, flip = "capture", False
            if m.group == "capture":
                freed = self._freed_from(text[m.end:m.end + 40])
                if freed is not None:
                    agent, relative = opposite(freed), None  # "звільнене від окупантів": not the occupiers' claim
            if m.group == "hold":
                kind = "hold"
                if self._fighting.search(phrase) and re.match(
                        r"\s*(?:[\w-]+\s+){0,2}?(?:(?:в|у)\s+район\w*|near|поблизу|неподалік|около|возле|in\s+the\s+area\s+of)\s",
                        text[m.end:m.end + 50]):
                    continue  # "бои продолжаются в районе X", "fighting near X": around the town, not in it
                if self._fighting.search(phrase) or re.search(r"оточ|окруж|encircl|surround", phrase):
                    agent, relative = self.side_words(phrase), None  # "fighting goes on", "not encircled": no holder named
                elif relative is None and agent is None:
                    relative = self._relative(tokens, max(0, pos - 4), pos + 4)
            elif m.group == "refute_verbs":
                kind = "refute"
                agent, relative = self._refuter(m, text, tokens, pos, actors, marks)
            elif m.group == "refute_predicates":
                kind, agent, relative = "refute", None, None  # "the claims are untrue": the speaker denies
            elif m.group == "withdraw":
                if (self._civilians_before(tokens, pos, marks) and agent is None) \
                        or self._civilians_subject(tokens, pos, actors):
                    continue  # residents leaving: an evacuation
                kind, flip = ("hold", False) if negated else ("withdraw", True)
            elif m.group == "expel":
                # "ЗСУ вибили окупантів з Куп'янська": the subject holds it; with no subject, the other side of the expelled
                agent, relative, flip = self._expeller(text, tokens, pos, m, actors, marks)
            elif m.group == "cleared":
                flip = agent is not None or relative is not None  # "очищен от украинских войск"
                if not flip and self._cleared_weak.match(phrase):
                    continue  # "the rubble was cleared": a town cleared of nobody is a clean-up
            elif m.group == "entry":
                kind, flip = ("hold", True) if negated else ("entry", False)
            elif negated:
                kind, flip = "hold", True  # "has not captured", "не окупували повністю"
            # a holding statement that names its holder can be a reported claim too ("Russian media report that
            # Russian troops still hold X"); one that names none ("fighting goes on") is the voice's own
            label = self._reported(tokens, pos, sources, actors) if kind in ("capture", "entry", "withdraw") or (
                kind == "hold" and agent is not None and m.group != "refute_verbs") else None
            if label is not None and label[2] is not None and kind in ("capture", "entry"):
                # "спростували російські повідомлення про захоплення X": the reports' side is the captor,
                # unless the report itself names one ("reports that Russian troops captured X")
                right = min((k for k in marks if k > pos), default=len(tokens))
                inside = [s for p, s in actors if label[2] < p < pos] or [
                    s for p, s in actors if pos < p < min(right, pos + len(phrase.split()) + 3)]
                agent, relative = (inside[-1] if inside else label[1]), None
            if silenced and label is None:
                continue  # "did not confirm the capture": silence is not a claim
            if label is None:
                others = [tok_at(o.start) for o in found if o is not m and o.group not in ("not_control", "silence")]
                claimant, claimant_side = self._claimant_for(pos, voiced, marks, others, self._turns(tokens),
                                                             self._verbs(tokens))
                reported = False
            else:
                claimant, claimant_side, reported = label[0], label[1], True
            if m.group == "refute_predicates" and claimant is not None and any(
                    h.kind in ("capture", "entry") and h.reported and h.pos < pos and h.claimant_side is claimant_side
                    for h in hits):
                # "the enemy claims to have captured X, which is not true": not the claimant's own denial
                claimant, claimant_side = None, None
            refuted = kind in ("capture", "entry") and not negated and any(r is not m for r in refutes)
            if kind == "capture" and not refuted and _BARE_FALL.search(phrase):
                continue  # "X has fallen" names no captor: a claim only as what a denial denies (the denier holds X)
            denied_at = max((tok_at(r.start) for r in refutes if r.start < m.start), default=None)
            if refuted and label is None and denied_at is not None:
                # "ВСУ отрицают захват X российскими войсками": the party before the denial is the denier
                right = min((k for k in marks if k > pos), default=len(tokens))
                captors = [a for a in actors if denied_at < a[0] < pos] or [a for a in actors if pos < a[0] < right]
                agent, relative = (captors[-1][1] if captors and captors[-1][0] < pos else
                                   captors[0][1] if captors else None), None
            alleged = bool(self._alleged.search(before[-30:])) and agent is None and not speakers and label is None
            aside = label is None and kind in ("capture", "entry") and agent is not None \
                and self._relative_clause(tokens, pos, marks)
            if aside:
                claimant, claimant_side = None, None  # the writer's own words, not the speaker's
            default = next((side for pattern, side in self._defaults if pattern.match(phrase)), None)
            hits.append(ControlHit(
                pos=pos, kind=kind, agent=agent, relative=relative, flip=flip, claimant=claimant,
                group=f"{m.group} ({m.source})" if m.source else m.group, span=(m.start, m.end),
                claimant_side=claimant_side, reported=reported,
                town_word=bool(self._town_in(phrase)) or self._town_near(tokens, pos),
                default=default, alleged=alleged,
                fighting=m.group == "hold" and bool(self._fighting.search(phrase)),
                share=m.group == "share", refuted=refuted, progressive=progressive,
                speaker_unknown=speaker_unknown or (unnamed_speaker and claimant is None),
                anonymous=not speaker_unknown and unnamed_speaker and claimant is None, aside=aside))
        return hits

    def _freed_from(self, after: str) -> Side | None:
        """The side a town was taken from, right after the phrase: "liberated from Russian
        occupation", "звільнене від російських окупантів", "освобождён от украинских боевиков"."""
        m = re.match(r"\s*(?:from|від|вiд|от)\s+(?:the\s+)?([\w-]+(?:\s+[\w-]+)?)", after)
        return self.side_words(m.group(1)) if m is not None else None

    def _relative_clause(self, tokens: list[Token], pos: int, marks: list[int]) -> bool:
        """The statement sits in a relative clause after a comma, with no speech verb of its own:
        "announced the withdrawal from Lyman, which Ukrainian forces had recently liberated"."""
        left = max((k for k in marks if k < pos), default=-1)
        if left < 0 or tokens[left].text != ",":
            return False
        right = min((k for k in marks if k > pos), default=len(tokens))
        opener = next((t for t in tokens[left + 1:pos] if t.is_word), None)
        return opener is not None and bool(self._relative_words.fullmatch(opener.lower)) \
            and not any(left < v < right for v in self._verbs(tokens))

    def _town_in(self, phrase: str) -> bool:
        return any(self._town.fullmatch(w) for w in re.findall(r"\w+", phrase))

    def _town_near(self, tokens: list[Token], pos: int) -> bool:
        return any(t.is_word and self._town.fullmatch(t.lower) for t in tokens[max(0, pos - 4):pos + 6])

    def _civilians_before(self, tokens: list[Token], pos: int, marks: list[int]) -> bool:
        left = max((k for k in marks if k < pos), default=-1)
        return any(t.is_word and self._civilian.fullmatch(t.lower) for t in tokens[left + 1:pos])

    def _civilians_subject(self, tokens: list[Token], pos: int, actors: list[tuple[int, Side]]) -> bool:
        """Residents right before the verb, with no party between: "Residents fled Avdiivka as Russian shelling ..."."""
        for j in range(pos - 1, max(-1, pos - 4), -1):
            if any(p == j for p, _ in actors):
                return False
            if tokens[j].is_word and self._civilian.fullmatch(tokens[j].lower):
                return True
        return False


def resolve_controller(hit: ControlHit, claimant_side: Side | None) -> Side | None:
    """The controller a statement claims, given the side of the one who makes it.

    A side named relative to the speaker ("наши военные отошли", "the enemy did not enter") or
    not named at all takes the speaker's side: a withdrawal is the announcer's own, a denial or a
    holding statement the denier's. Returns None for a capture that names no side (the post
    decides, see ``Extractor._control_drafts``).
    """
    agent = hit.agent
    if agent is None and hit.relative == "own":
        agent = claimant_side
    elif agent is None and hit.relative == "enemy":
        agent = opposite(claimant_side) if claimant_side is not None else Side.RUSSIA
    if agent is None:
        if hit.kind in ("hold", "refute"):
            return claimant_side or Side.UKRAINE  # "has not fallen", "the claims are untrue"
        if hit.kind != "withdraw" or claimant_side is None:
            return None
        agent = claimant_side  # a withdrawal with no party named is the announcer's own
    return opposite(agent) if hit.flip else agent

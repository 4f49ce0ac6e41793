"""Who a control statement is voiced by and whose claim it is: the parties around it, the
agent of a capture, the side that refutes or reports it (rules of ``control.ControlReader``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine.text import Token
from bot.engine.types import Side

# "під контроль України", "под контроль российских войск": a holder in the genitive, not the object
_GENITIVE_HOLDER = re.compile(r"\s*(?:україни|украины|росії|россии|рф|зсу|всу|\w+ськ(?:их|ої)\s|\w+ск(?:их|ой)\s)")


_COUNTRY = re.compile(r"ukraine|russia|україн\w*|украин\w*|росі\w*|росси\w*|рф|moscow|москв\w*|kyiv|києв\w*|киев\w*")


# a capital standing for its government as the owner of claims ("Moscow's claims", "заяви Кремля")
_CAPITALS = ((re.compile(r"moscow|москв\w*|kremlin|кремл\w*"), Side.RUSSIA), (re.compile(r"kyiv|київ|києв\w*|киев\w*"), Side.UKRAINE))

# words after which a speech word that is also a report noun ("claims", "reports") is the noun
_NOUN_MARKERS = frozenset({"'s", "’s", "the", "these", "those", "such", "its", "their", "his", "her", "our", "of"})


def side_label(side: Side | None, suffix: str) -> str | None:
    if side is None:
        return None
    return f"{'Russian' if side is Side.RUSSIA else 'Ukrainian'} side ({suffix})"


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    group: str
    source: str = ""  # the lemma pattern that found it ("control_phrases.jsonl deny-uk"); "" for the lexicon's lists


class ControlVoices:
    """Rules of ``ControlReader`` (its word lists are its attributes)."""

    def _parties(self, tokens: list[Token], actors: list[tuple[int, Side]]) -> list[tuple[int, Side]]:
        """Actors plus a side's people ("росіяни") and bodies ("російське Міноборони", "украинских
        властей"); a bare country name in a place phrase ("in eastern Ukraine") is no party."""
        kept = []
        for pos, side in actors:
            prev = tokens[pos - 1].lower if pos > 0 else ""
            if tokens[pos].is_capitalized and self._locative.fullmatch(prev) and _COUNTRY.fullmatch(tokens[pos].lower):
                continue
            kept.append((pos, side))
        taken = {p for p, _ in kept}
        for pos, tok in enumerate(tokens):
            if pos in taken or not tok.is_word:
                continue
            side = next((s for pattern, s in self._holders if pattern.fullmatch(tok.lower)), None)
            if side is None:
                nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
                if nxt is not None and nxt.is_word and self._party.fullmatch(nxt.lower):
                    side = self.side_words(tok.lower)
            if side is not None:
                kept.append((pos, side))
        return sorted(kept)

    def _agent(self, m: _Match, phrase: str, text: str, tokens: list[Token], pos: int,
               actors: list[tuple[int, Side]], marks: list[int]) -> tuple[Side | None, str | None]:
        """The side a statement names: inside the phrase ("under Russian control", "вывод украинских
        войск"), as the holder right after it ("под контролем украинских властей", "очищен от
        украинских войск"), as the party in its clause, or relative to the speaker ("наши военные")."""
        side = self.side_words(phrase)
        if side is not None:
            return side, None
        after = text[m.end:m.end + 45]
        holder = re.match(r"\s*(?:of\s+(?:the\s+)?|by\s+(?:the\s+)?|від\s+|от\s+)?([\w-]+(?:\s+[\w-]+){0,2})", after)
        holder_follows = (re.match(r"(?:under|під|под)\b", phrase) and re.search(r"(?:control|контролем|контролі|контроле)$", phrase)) \
            or m.group in ("cleared", "withdraw") or re.match(r"\s*by\s", after) \
            or (re.search(r"контроль$", phrase) and _GENITIVE_HOLDER.match(after))
        if holder is not None and holder_follows:
            side = self.side_words(holder.group(1))
            if side is not None:
                return side, None
        left = max((k for k in marks if k < pos), default=-1)
        right = min((k for k in marks if k > pos), default=len(tokens))
        before = [a for a in actors if left < a[0] < pos]
        rel = self._relative(tokens, left + 1, pos)
        if before and (rel is None or before[-1][0] > self._relative_pos(tokens, left + 1, pos)):
            return before[-1][1], None
        if rel is not None:
            return None, rel
        after_actors = [a for a in actors if pos < a[0] < right]
        if after_actors:
            return after_actors[0][1], None
        return None, self._relative(tokens, pos + 1, min(right, pos + 5))

    def _expeller(self, text: str, tokens: list[Token], pos: int, m: _Match, actors: list[tuple[int, Side]],
                  marks: list[int]) -> tuple[Side | None, str | None, bool]:
        left = max((k for k in marks if k < pos), default=-1)
        before = [a for a in actors if left < a[0] < pos]
        if before:
            return before[-1][1], None, False
        expelled = self.side_words(text[m.start:m.end])
        if expelled is None:
            end_tok = pos + len(text[m.start:m.end].split())
            expelled = next((s for p, s in actors if pos <= p < end_tok), None)
        if expelled is not None:
            return expelled, None, True
        return None, self._relative(tokens, left + 1, pos), False

    def _relative_pos(self, tokens: list[Token], start: int, end: int) -> int:
        for j in range(end - 1, max(0, start) - 1, -1):
            tok = tokens[j]
            if tok.is_word and (self._own.fullmatch(tok.lower) or self._enemy.fullmatch(tok.lower)):
                return j
        return -1

    def _relative(self, tokens: list[Token], start: int, end: int) -> str | None:
        for tok in reversed(tokens[max(0, start):end]):
            if not tok.is_word:
                continue
            if self._own.fullmatch(tok.lower):
                return "own"
            if self._enemy.fullmatch(tok.lower):
                return "enemy"
        return None

    def _refuter(self, m: _Match, text: str, tokens: list[Token], pos: int, actors: list[tuple[int, Side]],
                 marks: list[int]) -> tuple[Side | None, str | None]:
        """Who denies: "refuted by the Ukrainian side", else the party before the verb in its clause."""
        by = re.match(r"\s*(?:" + self._by.pattern + r")\s+(?:the\s+)?([\w-]+(?:\s+[\w-]+)?)", text[m.end:m.end + 40])
        if by is not None:
            side = self.side_words(by.group(1))
            if side is not None:
                return side, None
        left = max((k for k in marks if k < pos), default=-1)
        before = [a for a in actors if left < a[0] < pos] or [a for a in actors if 0 < pos - a[0] <= 8]
        if before:
            return before[0][1], None
        return None, self._relative(tokens, max(0, pos - 4), pos)

    def _voiced(self, tokens: list[Token], actors: list[tuple[int, Side]],
                speakers: list[tuple[int, str, Side | None]]) -> list[tuple[int, str, Side | None]]:
        """Officials, bodies and parties standing next to a speech verb ("the MoD claimed", "В ВСУ
        признали", "российские силовики констатировали")."""
        verbs = self._verbs(tokens)
        if not verbs:
            return []
        # "сообщил, что российские войска оставили город": a party inside the reported content is no voice
        content = [c for c, t in enumerate(tokens) if t.lower in ("что", "що", "that", "чтобы", "щоб")
                   and any(0 < c - v <= 4 for v in verbs)]

        def reported_inside(pos: int) -> bool:
            return any(c < pos for c in content) and not any(abs(pos - v) <= 3 and not any(v < c < pos for c in content)
                                                              for v in verbs)

        near = [s for s in speakers if any(abs(s[0] - v) <= 5 for v in verbs) and not reported_inside(s[0])]

        def joined(a: int, b: int) -> bool:
            return all(t.is_word for t in tokens[min(a, b) + 1:max(a, b)])

        def among(pos: int) -> bool:  # "у Силах оборони цю інформацію не підтверджують і заявляють": "in X they say"
            return pos > 0 and tokens[pos - 1].lower in ("у", "в", "in") and any(
                0 < v - pos <= 8 and joined(pos, v) for v in verbs)

        subjects = {v for v in verbs if any(0 < v - p <= 3 and joined(p, v) for p in [a for a, _ in actors] + [
            s[0] for s in speakers])}

        def voices(pos: int, v: int) -> bool:
            """Before its verb ("the MoD said"), or after one with no subject of its own ("said the
            ministry"); "Ukraine's military said Russian forces had captured X": the content."""
            return joined(pos, v) and (0 < v - pos <= 3 or (0 < pos - v <= 2 and v not in subjects))

        parties = [(pos, side_label(side, "as reported") or "", side) for pos, side in actors
                   if (any(voices(pos, v) for v in verbs) or among(pos))
                   and not any(abs(pos - s[0]) <= 3 for s in speakers) and not reported_inside(pos)]
        return sorted(near + parties)

    def _reported(self, tokens: list[Token], pos: int, sources: list[tuple[int, str, Side | None]],
                  actors: list[tuple[int, Side]]) -> tuple[str, Side | None, int | None] | None:
        """The party a reported claim is credited to: a reporter named in the sentence ("DeepState",
        "Russian Telegram channels"), or the side of the reports it is the content of ("російські
        повідомлення про захоплення", "statements of the Russian army about the capture")."""
        if sources:
            best = min(sources, key=lambda s: abs(s[0] - pos))
            return best[1], best[2], None
        for j in range(pos - 1, max(-1, pos - 9), -1):
            tok = tokens[j]
            if tok.is_word and self._report.fullmatch(tok.lower):
                # the reports' own side: "російські повідомлення", "заявления Минобороны РФ о захвате", not the
                # subject of the verb before them ("ЗСУ спростовує інформацію про захоплення")
                owner = j - 2 if j > 1 and tokens[j - 1].lower in ("'s", "’s") else j - 1  # "Russia's claims"
                side = self.side_words(" ".join(t.lower for t in tokens[max(0, owner):j + 1])) or next(
                    (cs for t in tokens[max(0, owner):j] for cp, cs in _CAPITALS if cp.fullmatch(t.lower)), None)
                if side is None:
                    side = next((s for p, s in actors if j - 1 <= p < pos), None)
                if side is not None:
                    return side_label(side, "unnamed, as reported") or "", side, j
                return None
        return None

    def _verbs(self, tokens: list[Token]) -> list[int]:
        return [i for i in range(len(tokens)) if self._is_speech_verb(tokens, i)]

    def _is_speech_verb(self, tokens: list[Token], i: int) -> bool:
        """A speech verb, not the noun opening the sentence ("Claims that X fell are false")."""
        tok = tokens[i]
        if not tok.is_word or not self._speech.fullmatch(tok.lower):
            return False
        if not self._report.fullmatch(tok.lower):
            return True
        first = next((j for j, t in enumerate(tokens) if t.is_word), -1)
        # a noun: opening the sentence, or after a possessive or a determiner ("Russia's claims", "these claims")
        return i != first and not (i > 0 and tokens[i - 1].lower in _NOUN_MARKERS)

    @staticmethod
    def _turns(tokens: list[Token]) -> list[int]:
        """Where the sentence turns to another voice: "but", "however", "але", "однако"."""
        return [i for i, t in enumerate(tokens) if t.lower in ("but", "however", "while", "whereas", "але", "однак",
                                                               "проте", "однако", "но")]

    @staticmethod
    def _claimant_for(pos: int, voiced: list[tuple[int, str, Side | None]], marks: list[int],
                      others: list[int], turns: list[int], verbs: list[int]) -> tuple[str | None, Side | None]:
        """The voiced party of the statement's clause, else the nearest one before it (not across a
        "but", nor when the clause has a speech verb of its own: "but Kyiv said ..."), else one after
        it with no other statement between ("X was captured, the ministry claimed")."""
        if not voiced:
            return None, None
        left = max((k for k in marks if k < pos), default=-1)
        right = min((k for k in marks if k > pos), default=10**9)
        own_verb = any(left < v < right for v in verbs)
        earlier = [] if own_verb else [s for s in voiced if s[0] < pos and not any(s[0] < t < pos for t in turns)]
        # a speaker after the statement who closes the run of statements: "X не захоплено, бої тривають, заявили в ЗСУ"
        candidates = [s for s in voiced if left < s[0] < right] or earlier or [
            s for s in voiced if s[0] > pos and not any(o > s[0] for o in others)
            and not any(pos < t < s[0] for t in turns)] or [s for s in voiced if not any(o > pos for o in others)]
        if not candidates:
            return None, None
        best = min(candidates, key=lambda s: abs(s[0] - pos))
        return best[1], best[2]

"""Control phrases written on lemmas: spaCy ``Matcher`` patterns from ``data/control_phrases.jsonl``.

Each line of the file is one pattern in spaCy's token-pattern format, as ``SpanRuler`` reads them:
``{"label": GROUP, "id": NAME, "pattern": [{"LEMMA": {"IN": [...]}}, ...]}``, where GROUP is one of
``control.GROUPS``. A pattern on LEMMA covers every inflected form of its words ("спростували",
"спростовує", "спростування" ...). The component ``claimwatch_control`` loads the file in its
``initialize()``; ``control.ControlReader`` then merges these matches with the phrase lists of the
lexicon that stay regular expressions (tense, punctuation and look-ahead, see its docstring).

A sentence is matched on its own small Doc (its tokens' lower-cased forms and lemmas, quotes left
out, as the regular expressions see the text with quotes blanked), and only when one of its words
can start a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import spacy
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from bot.engine.text import Token

_QUOTE = re.compile(r"^[«»“”„\"'‘’]+$")


class ControlPhrases:
    """The lemma patterns of the control groups, compiled into one ``Matcher``."""

    def __init__(self, patterns: Iterable[dict[str, Any]], groups: Sequence[str], source: str) -> None:
        self.vocab: Vocab = spacy.blank("xx").vocab  # a vocabulary of its own, with the lexical attributes (LOWER)
        self.matcher = Matcher(self.vocab, validate=True)
        self.lemmas: set[str] = set()  # a sentence with none of these words has no match
        self.lowers: set[str] = set()
        self.count = 0
        self.before = self.after = 0  # how far a pattern reaches before and after its anchor word
        by_key: dict[str, list[list[dict[str, Any]]]] = {}
        for n, row in enumerate(patterns, 1):
            label, pattern = row.get("label"), row.get("pattern")
            if label not in groups or not isinstance(pattern, list) or not pattern:
                raise ValueError(f"{source}: pattern {n} needs a label among {', '.join(groups)} and a token list")
            by_key.setdefault(f"{label}|{row.get('id') or n}", []).append(pattern)  # the id shows in --explain
            self._trigger(pattern, source, n)
            self.count += 1
        try:
            for key, group in by_key.items():
                self.matcher.add(key, group, greedy="LONGEST")
        except (ValueError, KeyError) as exc:  # spaCy's own message names the bad token attribute
            detail = " ".join(str(exc).split())  # spaCy's validation message spans lines
            raise ValueError(f"{source}: bad pattern: {detail}") from exc

    def _trigger(self, pattern: list[dict[str, Any]], source: str, n: int) -> None:
        """The words of one required token of the pattern: a sentence needs one of them. The last
        required LEMMA token is taken (the rarer word: "захоплення" rather than "не", "remain" rather
        than "troops"), else the last required LOWER token. How many tokens the pattern can reach
        before and after it sets the window of a sentence that is matched."""
        required = [i for i, tok in enumerate(pattern)
                    if tok.get("OP") not in ("?", "*") and not str(tok.get("OP", "")).startswith("{0")]
        chosen = [i for i in reversed(required) if "LEMMA" in pattern[i]][:1] or [
            i for i in reversed(required) if "LOWER" in pattern[i]][:1]
        for i in chosen:
            attr = "LEMMA" if "LEMMA" in pattern[i] else "LOWER"
            value, words = pattern[i][attr], self.lemmas if attr == "LEMMA" else self.lowers
            if isinstance(value, dict) and isinstance(value.get("IN"), list):
                value = value["IN"]
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list):
                words.update(value)
                self.before = max(self.before, sum(_width(tok, source, n) for tok in pattern[:i]))
                self.after = max(self.after, sum(_width(tok, source, n) for tok in pattern[i + 1:]))
                return
        raise ValueError(f"{source}: pattern {n} needs a required LEMMA or LOWER word (a string or an IN list)")

    def find(self, tokens: list[Token]) -> list[tuple[int, int, str, str]]:
        """(start, end, group, pattern id) in the sentence's characters of every lemma pattern found.
        Only the stretches around the words that can anchor a pattern are matched (a Matcher call
        costs by the token)."""
        lemmas, lowers = self.lemmas, self.lowers
        kept = [t for t in tokens if not _QUOTE.match(t.text)]
        anchors = [i for i, t in enumerate(kept) if t.lower in lowers or (t.lemma or t.lower).lower() in lemmas]
        windows: list[list[int]] = []
        for i in anchors:
            start, end = max(0, i - self.before), min(len(kept), i + self.after + 1)
            if windows and start <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], end)
            else:
                windows.append([start, end])
        strings = self.vocab.strings
        found: list[tuple[int, int, str, str]] = []
        for start, end in windows:
            part = kept[start:end]
            doc = Doc(self.vocab, words=[t.lower for t in part], lemmas=[(t.lemma or t.lower).lower() for t in part])
            found += [(part[a].start, part[b - 1].end, *strings[key].split("|", 1)) for key, a, b in self.matcher(doc)]
        return found


def _width(tok: dict[str, Any], source: str, n: int) -> int:
    """The most tokens one pattern token can cover ("?": 1, "{0,3}": 3)."""
    op = str(tok.get("OP", ""))
    if op in ("", "?"):
        return 1
    bounded = re.fullmatch(r"\{(?:\d*,)?(\d+)\}", op)
    if bounded is None:
        raise ValueError(f"{source}: pattern {n}: write a bounded repeat ('{{0,3}}'), not {op!r}")
    return int(bounded.group(1))

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
        """The words of the pattern's first required token: a sentence needs one of them."""
        for tok in pattern:
            if tok.get("OP") in ("?", "*") or str(tok.get("OP", "")).startswith("{0"):
                continue
            for attr, words in (("LEMMA", self.lemmas), ("LOWER", self.lowers)):
                value = tok.get(attr)
                if isinstance(value, str):
                    words.add(value)
                    return
                if isinstance(value, dict) and isinstance(value.get("IN"), list):
                    words.update(value["IN"])
                    return
            break
        raise ValueError(f"{source}: pattern {n} must start with a required LEMMA or LOWER word")

    def find(self, tokens: list[Token]) -> list[tuple[int, int, str, str]]:
        """(start, end, group, pattern id) in the sentence's characters of every lemma pattern found."""
        kept = [t for t in tokens if not _QUOTE.match(t.text)]
        if not any(t.lower in self.lowers or (t.lemma or t.lower) in self.lemmas for t in kept):
            return []
        doc = Doc(self.vocab, words=[t.lower for t in kept], lemmas=[(t.lemma or t.lower).lower() for t in kept])
        strings = self.vocab.strings
        return [(kept[start].start, kept[end - 1].end, *strings[key].split("|", 1))
                for key, start, end in self.matcher(doc)]

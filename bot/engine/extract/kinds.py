"""Attack words, weapons and targets (component claimwatch_kinds)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.extract.facts import SentenceFacts
from bot.engine.text import remembered
from bot.engine.types import Kind, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


class KindRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_kinds(self, view: SentenceView, facts: SentenceFacts) -> None:
        """Attack words (with their tier), weapons and targets the sentence names."""
        for pos, tok in enumerate(view.tokens):
            if not tok.is_word:
                continue
            cue = self._cue_of(tok.lower)
            if cue is not None:
                facts.cues.append((pos, cue[1], cue[2]))
                facts.why[("cue", pos)] = Why("kinds", self._cue_keys[cue[0]], tok.text, view.index)
            facts.weapons.update(self._weapons_of(tok.lower))
        lower = view.lower
        for name, pattern in self._targets if self._any_target.search(lower) else ():
            if any(not self._target_denied.search(lower[max(0, m.start() - 40):m.start()])
                   for m in pattern.finditer(lower)):
                facts.targets.add(name)  # "there was no military target on the square" names none

    def _cue_of(self, word: str) -> tuple[int, Kind, int] | None:
        """The first cue list that reads ``word`` or one of its hyphenated parts ("дронами-камікадзе"):
        (its index, kind, tier)."""
        try:
            return self._cues_seen[word]
        except KeyError:
            parts = [word] + (word.split("-") if "-" in word else [])
            return remembered(self._cues_seen, word, lambda: next(
                ((k, kind, tier) for k, (pattern, kind, tier) in enumerate(self._cue_words)
                 if any(pattern.fullmatch(part) for part in parts)), None))

    def _weapons_of(self, word: str) -> tuple[str, ...]:
        try:
            return self._weapons_seen[word]
        except KeyError:
            return remembered(self._weapons_seen, word,
                              lambda: tuple(name for name, pattern in self._weapons if pattern.fullmatch(word)))

    def _is_cue(self, word: str) -> bool:
        return any(pattern.fullmatch(word) for pattern, _, _ in self._cue_words)

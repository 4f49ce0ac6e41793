"""What the words around a number say of it: its casualty word, a toll verb, a part of another figure, an earlier figure, a district (used by ``counts``)."""

from __future__ import annotations


from bot.engine.extract.facts import COUNT_WINDOW
from bot.engine.text import Token


class CountContextRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def _is_part(self, tokens: list[Token], start: int, last: int, increment: bool = True) -> bool:
        """'ще двоє', 'another 3', 'two more', '15 of them', 'з них 4': a part of another figure.

        After a figure of the other field, "ще/еще 20" adds to the post ("погибли 10, еще 20 ранены"):
        with ``increment`` False the more-words do not make a part.
        """
        before = tuple(t.lower for t in tokens[max(0, start - 3):start])
        after = tuple(t.lower for t in tokens[last + 1:last + 4])
        if increment and before[-1:] and before[-1] in self._increment:
            return True
        if increment and after[:1] and after[0] in self._more_words:
            return True
        return any(before[-len(w):] == w for w in self._part_before) or any(after[:len(w)] == w for w in self._part_after)

    def _bare_before_field(self, tokens: list[Token], last: int) -> bool:
        """A number followed by its casualty word with no noun of its own ("троє – загинули")."""
        for tok in tokens[last + 1:last + 4]:
            if self._field_of(tok):
                return True
            if tok.is_word and tok.lower not in ("were", "was", "have", "has", "had", "later", "згодом", "потім", "позже"):
                return False
        return False

    def _clause_names_subarea(self, tokens: list[Token], pos: int) -> bool:
        """The part of the sentence around the number (up to a semicolon) names a district."""
        left = pos
        while left > 0 and tokens[left - 1].text != ";":
            left -= 1
        right = pos
        while right + 1 < len(tokens) and tokens[right + 1].text != ";":
            right += 1
        return any(t.is_word and self._subarea.fullmatch(t.lower) for t in tokens[left:right + 1])

    def _civilian_near(self, tokens: list[Token], start: int, last: int) -> bool:
        """A civilian noun beside the number ("12 мирних жителів", "civilians")."""
        return any(t.is_word and self._civilian.fullmatch(t.lower) for t in tokens[max(0, start - 2):last + 4])

    def _toll_verb_before(self, tokens: list[Token], start: int) -> bool:
        """A toll verb before the number: right before it ("достигло 24", "стали 23"), or before the
        preposition in front of it, up to a dozen words back ("raising the death toll … to 13")."""
        return self._toll_verb_at(tokens, start) is not None

    def _toll_verb_at(self, tokens: list[Token], start: int) -> int | None:
        """Where the toll verb of ``_toll_verb_before`` is, or None."""
        j = start - 1
        while j >= 0 and tokens[j].is_word and self._left_fillers.fullmatch(tokens[j].lower) \
                and tokens[j].lower not in self._toll_preps and not self._toll_verbs.fullmatch(tokens[j].lower):
            j -= 1
        if j < 0:
            return None
        if tokens[j].is_word and self._toll_verbs.fullmatch(tokens[j].lower):
            return j
        if tokens[j].lower not in self._toll_preps:
            return None
        for k in range(j - 1, max(-1, j - 13), -1):
            tok = tokens[k]
            if tok.kind == "punct" and tok.text not in (",", "'", '"', "«", "»"):
                return None
            if tok.is_word and self._toll_verbs.fullmatch(tok.lower):
                return k
        return None

    def _toll_subject_before(self, tokens: list[Token], start: int) -> bool:
        """'it has risen to 10', 'цифра зросла до 10': a toll named by a pronoun or a bare noun."""
        return any(t.lower in self._toll_subjects for t in tokens[max(0, start - 6):start])

    def _field_left(self, tokens: list[Token], start: int) -> str | None:
        """The casualty word nearest before a toll in its sentence ("кількість загиблих … зросла до")."""
        for j in range(start - 1, -1, -1):
            tok = tokens[j]
            if tok.text in (";",):
                return None
            field_ = self._field_of(tok)
            if field_:
                if self._military_after(tokens, j) or (j + 1 < len(tokens) and self._military.fullmatch(tokens[j + 1].lower)):
                    return None
                return field_
        return None

    def _earlier_before(self, tokens: list[Token], pos: int) -> bool:
        """'initially gave a death toll of six', 'ранее сообщалось о 12 погибших': an earlier figure."""
        for j in range(pos - 1, max(-1, pos - 10), -1):
            tok = tokens[j]
            if tok.kind == "punct" and tok.text in (",", ";", ":"):
                return False
            if tok.is_word and self._earlier.fullmatch(tok.lower):
                return True
        return False

    def _dies_after(self, tokens: list[Token], last: int) -> bool:
        """A 'died' verb later in the sentence, before any other number."""
        for j in range(last + 1, len(tokens)):
            tok = tokens[j]
            if tok.kind == "num" or self._number_word(tok, self._units) is not None \
                    or self._number_word(tok, self._tens) is not None:
                return False
            if tok.is_word and self._die.fullmatch(tok.lower):
                return True
        return False

    def _clause_has(self, tokens: list[Token], pos: int, field_: str) -> bool:
        """The clause around ``pos`` (between commas, semicolons, colons) names that field and not the other."""
        left = pos
        while left > 0 and tokens[left - 1].text not in (",", ";", ":", "(", ")"):
            left -= 1
        right = pos
        while right + 1 < len(tokens) and tokens[right + 1].text not in (",", ";", ":", "(", ")"):
            right += 1
        fields = {self._field_of(t) for t in tokens[left:right + 1]}
        return field_ in fields and len(fields - {None}) == 1

    def _bind_right(self, tokens: list[Token], last: int) -> tuple[str | None, bool, bool, int | None]:
        """Field of a cue following the number (``5 people were killed``), military, children, and
        where the cue is.

        An inserted phrase is skipped: "46 people, including 7 rescuers, suffered injuries".
        """
        military = children = crossed = False
        skipped = 0
        j = last + 1
        steps = 0
        while j < len(tokens) and steps < COUNT_WINDOW + 2:
            tok = tokens[j]
            steps += 1
            field_ = self._field_at(tokens, j)
            if field_:
                if crossed and j + 1 < len(tokens) and self._number_at(tokens, j + 1) is not None:
                    # "загинули 9 людей, в тому числі троє дітей, поранено 60": the word after the
                    # inserted phrase is the next figure's
                    return None, military, children, None
                return field_, military, children, j
            if tok.kind == "punct":
                if tok.text in ("–", "—", "-"):
                    j += 1
                    continue
                inserted = self._inserted_phrase_end(tokens, j)
                if inserted is not None:
                    j, crossed = inserted + 1, True
                    continue
                return None, military, children, None
            if tok.kind == "num" or self._stop.fullmatch(tok.lower):
                return None, military, children, None
            if self._military.fullmatch(tok.lower):
                military = True
            elif self._child.fullmatch(tok.lower):
                children = True
            elif not self._fillers.fullmatch(tok.lower) and tok.lemma.lower() not in self._hospital_words:
                skipped += 1
                if skipped > 2:
                    return None, military, children, None
            j += 1
        return None, military, children, None

    def _inserted_phrase_end(self, tokens: list[Token], j: int) -> int | None:
        """At a comma or bracket that opens an inserted phrase (", including …,", "(…)"), the index of
        the mark that closes it."""
        opener = tokens[j].text
        if opener == "(":
            closer = (")",)
        elif opener == "," and any(t.is_word and self._include.fullmatch(t.lower) for t in tokens[j + 1:j + 4]):
            closer = (",",)
        else:
            return None
        for k in range(j + 1, min(len(tokens), j + 20)):
            if tokens[k].text in closer:
                return k
            if tokens[k].text in (";", ".", ":"):
                return None
        return None

    def _bind_left(self, tokens: list[Token], start: int) -> tuple[str | None, bool, int | None]:
        """Field of a cue before the number (``загинули 10 людей``, ``death toll rose to 10``), and
        where the cue is.

        A parenthetical between them is skipped: "погибли, по последним данным, 19 человек".
        """
        j = start - 1
        steps = 0
        while j >= 0 and steps < COUNT_WINDOW + 2:
            steps += 1
            tok = tokens[j]
            paren = self._parenthetical_ending(tokens, j)
            if paren is not None:
                j = paren - 1
                continue
            field_ = self._field_at(tokens, j)
            if field_:
                # "killing 7 people ... injuring 24": the cue must not belong to an earlier number
                return field_, self._military_after(tokens, start), j
            if tok.kind == "punct" and tok.text not in (",", "–", "—", "-", ":"):
                return None, False, None
            if tok.kind == "num":
                return None, False, None
            if tok.is_word and not (self._left_fillers.fullmatch(tok.lower) or self._fillers.fullmatch(tok.lower)
                                    or tok.lemma.lower() in self._hospital_words):
                return None, False, None
            j -= 1
        return None, False, None

    def _parenthetical_ending(self, tokens: list[Token], j: int) -> int | None:
        """Start index of a parenthetical phrase ("по последним данным") ending at ``j``."""
        for words in self._parentheticals_by_end.get(tokens[j].lower, ()) if 0 <= j < len(tokens) else ():
            n = len(words)
            if j - n + 1 >= 0 and tuple(t.lower for t in tokens[j - n + 1:j + 1]) == words:
                return j - n + 1
        return None

    def _military_after(self, tokens: list[Token], start: int) -> bool:
        for tok in tokens[start + 1:start + 4]:
            if tok.is_word and self._military.fullmatch(tok.lower):
                return True
        return False

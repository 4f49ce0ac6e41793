"""Killed, injured and children, with their qualifiers (component claimwatch_counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.extract.facts import Count, SentenceFacts, _span
from bot.engine.text import Token, parse_digits
from bot.engine.types import Kind, Qualifier, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


class CountRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_counts(self, view: SentenceView, facts: SentenceFacts) -> None:
        tokens = view.tokens
        self._find_counts(facts, tokens, view.lower)
        if facts.cues and not facts.counts and any(t.is_word and self._habitual.fullmatch(t.lower) for t in tokens):
            facts.cues.clear()  # "місто під постійними обстрілами": a state of things, not an incident
        if any(k is Kind.DRONE for _, k, _ in facts.cues) and any(
                t.is_word and self._footage.fullmatch(t.lower) for t in tokens):
            facts.cues = [c for c in facts.cues if c[1] is not Kind.DRONE]  # "дроны засняли", "video taken from a drone"

    @staticmethod
    def _resolve_post_counts(facts: list[SentenceFacts]) -> None:
        """Counts read against the whole post: '… said it has risen to 10' takes the casualty word
        of an earlier sentence; a part of a figure ('ще двоє', 'two more bodies', 'hospitalized 15
        of them') is dropped when the post gives a figure for that field."""
        last_field: str | None = None
        seen: set[str] = set()
        for f in facts:
            for count in f.pending:
                if last_field is not None and not any(c.field == last_field for c in f.counts):
                    count.field = last_field
                    f.counts.append(count)
            if f.fields_named:
                last_field = f.fields_named[-1]
            whole = seen | {c.field for c in f.counts if not c.part}
            f.counts = [c for c in f.counts if not (c.part and c.field in whole)]
            seen |= {c.field for c in f.counts}
        for name in ("killed", "injured"):
            found = [c for f in facts for c in f.counts if c.field == name]
            tallies = [c for c in found if c.subarea and not c.rise]
            if len({c.value for c in tallies}) >= 2 and len(tallies) == len(found):
                # district by district with no total ("у Шевченківському районі – 2, у Солом'янському – 1"):
                # the post gives no toll for the incident
                for f in facts:
                    f.counts = [c for c in f.counts if c.field != name]

    def _find_counts(self, facts: SentenceFacts, tokens: list[Token], lower: str = "") -> None:
        pos = 0
        military_seen = False  # after "знищено 200 окупантів", "ще 300 поранені" are soldiers too
        children_group = False  # a number of children was just given ("поранено п'ятеро дітей, троє з них загинули")
        while pos < len(tokens):
            number = self._number_at(tokens, pos)
            if number is None:
                pos += 1
                continue
            value, last = number
            qualifier, qstart = self._qualifier_before(tokens, pos)
            if qualifier is None:  # "up to N": no figure
                pos = last + 1
                continue
            field_, military, children, at = self._bind_right(tokens, last)
            rule = f"lexicon.{'kill' if field_ == 'killed' else 'injure'}_words (after the number)"
            if field_ == "injured" and not children and self._dies_after(tokens, last):
                field_ = "killed"  # "одна постраждала … померла": an injured person who died
                rule = "lexicon.injure_words + lexicon.die_verbs (an injured person who died)"
            rise = False
            if field_ is None and not children:
                field_, left_military, at = self._bind_left(tokens, qstart)
                military = military or left_military
                rule = f"lexicon.{'kill' if field_ == 'killed' else 'injure'}_words (before the number)"
            if field_ is None and not children and last + 1 < len(tokens) \
                    and tokens[last + 1].lower in self._victims_plural and self._condition.search(lower) \
                    and not any(self._field_of(t) == "killed" for t in tokens):
                # "five out of 13 victims are in intensive care": victims in hospital are injured
                field_, at = "injured", last + 1
                rule = "lexicon.victims_plural + lexicon.condition_phrases (victims in a medical condition)"
            verb_at = self._toll_verb_at(tokens, qstart)
            if field_ is None and not children and verb_at is not None:
                # "кількість загиблих … зросла до 20", "raising the death toll … to 13"
                rise = True
                at, rule = verb_at, "lexicon.toll_verbs (field: the casualty word before it)"
                field_ = self._field_left(tokens, qstart)
                if field_ is None and any(t.lower in self._death_toll for t in tokens[:qstart]):
                    field_ = "killed"  # "the toll from Monday's strike rose to 26"
                    rule = "lexicon.toll_verbs + lexicon.death_toll_words"
                if field_ is None and self._toll_subject_before(tokens, qstart):
                    facts.pending.append(Count("", value, qualifier, pos, rise=True, why=Why(
                        "counts", "lexicon.toll_verbs + lexicon.toll_subjects (field: an earlier sentence's casualty word)",
                        _span(facts.text, tokens, verb_at, last), facts.index)))
            elif field_ is not None and verb_at is not None:
                rise = True
                rule, at = "lexicon.toll_verbs + " + rule, min(at if at is not None else verb_at, verb_at)
            elif field_ is None and not children and (last + 1 == len(tokens) or tokens[last + 1].kind == "punct") \
                    and any(t.is_word and self._earlier.fullmatch(t.lower) for t in tokens[:pos]):
                # "Earlier reports had indicated 14.": an earlier figure of the toll named before
                facts.pending.append(Count("", value, qualifier, pos, earlier=True, quoted_earlier=True, why=Why(
                    "counts", "lexicon.earlier_words (an earlier figure of a toll named before)",
                    _span(facts.text, tokens, qstart, last), facts.index)))
            if children and field_ is None:
                left_field, _, left_at = self._bind_left(tokens, qstart)
                if left_field == "injured":
                    field_ = "injured"  # "постраждали п'ятеро дітей"
                    at, rule = left_at, "lexicon.injure_words + lexicon.child_words"
            if children and field_ is None and self._clause_has(tokens, pos, "killed"):
                field_ = "killed"  # "Росія вбила у Києві двох дітей"
                facts.children_killed, facts.children_pos = value, pos
                facts.why["children"] = Why("counts", "lexicon.child_words + lexicon.kill_words in the clause",
                                            _span(facts.text, tokens, qstart, min(last + 1, len(tokens) - 1)), facts.index)
                pos = last + 1
                continue
            words = _span(facts.text, tokens, min(qstart, at if at is not None else qstart),
                          max(last, at if at is not None else last))
            military_seen = military_seen or military
            if military_seen and not military and not self._civilian_near(tokens, qstart, last):
                military = True
            if field_ is not None and not military:
                of_group = self._is_part(tokens, qstart, last, increment=False)
                among = children and any(t.is_word and self._include.fullmatch(t.lower) for t in tokens[last + 1:last + 5])
                if children and field_ == "killed":
                    facts.children_killed, facts.children_pos = value, pos
                    facts.why["children"] = Why("counts", "lexicon.child_words + " + rule, words, facts.index)
                    if among:  # "7 children among the dead": a part of a toll given elsewhere or not at all
                        facts.children_only = not any(c.field == "killed" for c in facts.counts)
                        children_group = children
                        pos = last + 1
                        continue
                elif field_ == "killed" and children_group and (of_group or self._bare_before_field(tokens, last)):
                    # "поранено п'ятеро дітей, троє з них загинули", "постраждали п'ятеро дітей, троє – загинули"
                    facts.children_killed, facts.children_pos = value, pos
                    facts.why["children"] = Why("counts", "the children just counted + " + rule, words, facts.index)
                if not children or not any(c.field == field_ for c in facts.counts):
                    increment = not any(c.field != field_ for c in facts.counts)
                    facts.counts.append(Count(field_, value, qualifier, pos, earlier=self._earlier_before(tokens, pos),
                                              rise=rise, part=of_group or self._is_part(tokens, qstart, last, increment),
                                              quoted_earlier=any(t.is_word and self._earlier.fullmatch(t.lower)
                                                                 for t in tokens[:pos]),
                                              subarea=self._clause_names_subarea(tokens, pos),
                                              why=Why("counts", rule, words, facts.index),
                                              qualifier_why=self._qualifier_why(facts, tokens, qualifier, qstart, pos)))
            children_group = children
            pos = last + 1
        self._find_ordinal_toll(facts, tokens)
        self._find_children(facts, tokens)
        unclear = self._unclear_toll.search(lower)
        if unclear:
            # "bodies recovered, but it is not yet clear whether the death toll has risen": no toll
            # (a figure after it still counts: "число жертв устанавливается, но известно о 20 погибших")
            facts.counts = [c for c in facts.counts if c.field != "killed" or tokens[c.pos].start > unclear.start()]
        zero = self._zero_both.search(lower)
        if zero:
            facts.zero_killed = facts.zero_injured = True
            facts.why["zero_killed"] = facts.why["zero_injured"] = Why(
                "counts", "lexicon.zero_phrases.both", facts.text[zero.start():zero.end()], facts.index)
        elif zero := self._zero_killed.search(lower):
            facts.zero_killed = True
            facts.why["zero_killed"] = Why("counts", "lexicon.zero_phrases.killed", facts.text[zero.start():zero.end()],
                                           facts.index)
        if zero := self._zero_injured.search(lower):
            facts.zero_injured = True
            facts.why["zero_injured"] = Why("counts", "lexicon.zero_phrases.injured", facts.text[zero.start():zero.end()],
                                            facts.index)
        facts.fields_named = [f for f in (self._field_of(t) for t in tokens) if f]

    def _number_at(self, tokens: list[Token], pos: int) -> tuple[int, int] | None:
        """(value, last token index) of a number starting at ``pos``, or None."""
        tok = tokens[pos]
        prev = tokens[pos - 1] if pos > 0 else None
        nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
        if tok.kind == "num":
            # times (18:00), ranges (5-7), ordinals (72-го), dates and years are not counts
            if nxt is not None and nxt.text in (":", "−", "–", "-", "/", "%") and nxt.start == tok.end:
                return None
            if prev is not None and prev.text in (":", "−", "–", "-", "/", "№", "#") and prev.end == tok.start:
                return None
            if nxt is not None and nxt.lower in self._months:
                return None
            if prev is not None and prev.lower in self._months:
                return None
            value = parse_digits(tok.text)
            if value is None:
                return None
            end = pos
            if nxt is not None and nxt.lower.rstrip(".") in self._scale:
                value *= self._scale[nxt.lower.rstrip(".")]
                end = pos + 1
            elif value != int(value):
                return None
            if 1900 <= value <= 2100 and tok.kind == "num" and end == pos:
                return None
            return int(value), end
        if not tok.is_word:
            return None
        word = tok.lower
        if word in self._vague or (prev is not None and prev.lower in self._vague):
            return None  # "dozens", "several dozen", "кілька десятків": no figure to report
        if word in ("a", "an") and nxt is not None and nxt.lower in ("dozen", "hundred"):
            return (12 if nxt.lower == "dozen" else 100), pos + 1  # "about a hundred": the qualifier is before "a"
        if "-" in word:  # "twenty-three"
            head, _, tail = word.partition("-")
            if head in self._tens and tail in self._units and self._units[tail] < 10:
                return self._tens[head] + self._units[tail], pos
            return None
        if word in self._approx_words:
            return self._approx_words[word], pos
        tens = self._number_word(tok, self._tens)
        if tens is not None:
            value, end = tens, pos
            unit = self._number_word(nxt, self._units) if nxt is not None else None
            if unit is not None and unit < 10:
                value += unit
                end = pos + 1
            return value, end
        unit = self._number_word(tok, self._units)
        if unit is not None:
            value = unit
            if value == 1:
                if nxt is not None and nxt.lower in self._of_words:
                    return None  # "one of the buildings", "одним из погибших"
                if prev is not None and prev.lower in ("no", "not", "ні", "ни", "жоден", "жодна"):
                    return None  # "no one", "ни один"
                if prev is not None and prev.lower in self._increment:
                    return None  # "ще один потерпілий помер": one more victim, not the toll
            return value, pos
        return None

    @staticmethod
    def _number_word(tok: Token, words: dict[str, int]) -> int | None:
        """The value of a number word as written, else by its lemma: the list names each number's
        dictionary form, the lemmatizer brings the other cases to it ("одном", "восьмерых",
        "двадцятьма" → "один", "восьмеро", "двадцять")."""
        if not tok.is_word:
            return None
        value = words.get(tok.lower)
        return words.get(tok.lemma) if value is None and tok.lemma else value

    def _qualifier_before(self, tokens: list[Token], pos: int) -> tuple[Qualifier | None, int]:
        """The qualifier words right before a number, and where they start.

        None for an upper bound ("up to 20", "до 20"), which is not encoded; "до" after a toll
        verb ("зросла до 20") is not a bound and gives ``exact``.
        """
        last = tokens[pos - 1].lower if pos > 0 else ""
        for words in self._upper_by_end.get(last, ()):
            n = len(words)
            if pos - n >= 0 and tuple(t.lower for t in tokens[pos - n:pos]) == words:
                return (Qualifier.EXACT if self._toll_verb_before(tokens, pos - n + 1) else None), pos - n
        for words, qualifier in self._qualifiers_by_end.get(last, ()):
            n = len(words)
            if pos - n < 0:
                continue
            if tuple(t.lower for t in tokens[pos - n:pos]) == words:
                return qualifier, pos - n
        return Qualifier.EXACT, pos

    @staticmethod
    def _qualifier_why(facts: SentenceFacts, tokens: list[Token], qualifier: Qualifier, qstart: int, pos: int) -> Why:
        """Where a count's qualifier came from: the words before the number, or none (exact)."""
        if qstart == pos:
            return Why("counts", "no qualifier word before the number: exact", "", facts.index)
        rule = "lexicon.upper_bounds after a toll verb: exact" if qualifier is Qualifier.EXACT \
            else f"lexicon.qualifiers.{qualifier.value}"
        return Why("counts", rule, _span(facts.text, tokens, qstart, pos - 1), facts.index)

    def _field_of(self, tok: Token) -> str | None:
        if not tok.is_word:
            return None
        if self._kill.fullmatch(tok.lower):
            return "killed"
        if self._injure.fullmatch(tok.lower):
            return "injured"
        return None

    def _field_at(self, tokens: list[Token], j: int) -> str | None:
        """``_field_of`` the word at ``j``, or "injured" for a verb of bringing someone to a
        hospital named within three words of it ("доставлены в больницу", "taken to hospital")."""
        tok = tokens[j]
        found = self._field_of(tok)
        if found or not tok.is_word or tok.lemma.lower() not in self._hospital_verbs:
            return found
        near = tokens[max(0, j - 3):j] + tokens[j + 1:j + 4]
        return "injured" if any(t.is_word and t.lemma.lower() in self._hospital_words for t in near) else None

    def _find_ordinal_toll(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """'це третя людина, яка загинула', 'this is the fifth victim': the toll is that number."""
        if any(c.field == "killed" for c in facts.counts):
            return
        for pos, tok in enumerate(tokens):
            value, end = (self._ordinals.get(tok.lower), pos) if tok.is_word else self._digit_ordinal(tokens, pos)
            if value is None:
                continue
            for j in range(end + 1, min(len(tokens), end + 3)):
                word = tokens[j].lower
                if self._victim.fullmatch(word) or (self._person.fullmatch(word) and any(
                        self._field_of(t) == "killed" for t in tokens[j + 1:j + 6])):
                    facts.counts.append(Count("killed", value, Qualifier.EXACT, pos, why=Why(
                        "counts", "numbers.ordinals + lexicon.victim_words/person_words (the Nth victim)",
                        _span(facts.text, tokens, pos, j), facts.index)))
                    return

    def _digit_ordinal(self, tokens: list[Token], pos: int) -> tuple[int | None, int]:
        """'13th', '13-та', '13-я': an ordinal in digits, and its last token."""
        tok = tokens[pos]
        if tok.kind != "num" or not tok.text.isdigit():
            return None, pos
        nxt = tokens[pos + 1] if pos + 1 < len(tokens) else None
        if nxt is not None and nxt.start == tok.end and nxt.lower in self._ordinal_suffixes:
            return int(tok.text), pos + 1
        if nxt is not None and nxt.text == "-" and nxt.start == tok.end and pos + 2 < len(tokens) \
                and tokens[pos + 2].lower in self._ordinal_suffixes:
            return int(tok.text), pos + 2
        return None, pos

    def _find_children(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """'including two children' after a death count; 'the deaths included three children';
        'загинув 12-річний хлопчик' (one child named among the dead)."""
        for pos, tok in enumerate(tokens):
            one_of = tok.lower in self._of_words and pos > 0 and self._number_word(tokens[pos - 1], self._units) == 1
            if not (tok.is_word and (self._include.fullmatch(tok.lower) or one_of)):
                continue  # "серед них", "including", "одним из погибших был несовершеннолетний"
            window = tokens[pos + 1:pos + 17]
            n_children = None
            for k, item in enumerate(window):
                if item.kind == "punct" and item.text in (",", ";", "."):
                    break
                if item.is_word and self._child.fullmatch(item.lower):
                    n_children = 1
                    for back in window[:k]:
                        parsed = self._number_at(tokens, tokens.index(back))
                        if parsed:
                            n_children = parsed[0]
                    break
            if n_children is None:
                continue
            # which count does the phrase qualify: a death word inside it, else the nearest count before
            phrase_field = next((self._field_of(t) for t in tokens[pos + 1:pos + 4] if self._field_of(t)), None)
            before = [c for c in facts.counts if c.pos < pos]
            earlier_death = any(self._field_of(t) == "killed" for t in tokens[:pos])
            target = phrase_field or (before[-1].field if before else ("killed" if earlier_death else None))
            if target == "killed" and facts.children_killed is None:
                facts.children_killed, facts.children_pos = n_children, pos
                facts.why["children"] = Why("counts", "lexicon.include_words + lexicon.child_words",
                                            _span(facts.text, tokens, pos, pos + 1 + k), facts.index)
                facts.children_only = not before  # "среди погибших есть ребенок" gives no toll
        if facts.children_killed is not None:
            return
        for pos, tok in enumerate(tokens):
            if not (tok.is_word and tok.lower in self._child_singular):
                continue
            if pos > 0 and self._number_at(tokens, pos - 1) is not None:
                continue
            found = self._child_killed(tokens, pos)
            if found:
                facts.children_killed, facts.children_pos = 1, pos
                facts.why["children"] = Why("counts", "lexicon.child_singular + lexicon.kill_words", tok.text, facts.index)
                facts.children_only = found == "among"  # "a child was among those killed": no toll
                return

    def _child_killed(self, tokens: list[Token], pos: int) -> str | None:
        """A death word right before or after a child named alone ('загинув 12-річний хлопчик', 'a
        14-year-old girl was killed', 'a child was among those killed'), past age words and fillers
        only: "alone", or "among" when the child is named as one of the dead."""
        for step in (-1, 1):
            j = pos + step
            while 0 <= j < len(tokens) and abs(j - pos) <= 10:
                tok = tokens[j]
                field_ = self._field_of(tok)
                if field_:
                    if field_ == "killed" and not self._clause_has(tokens, pos, "injured"):
                        crossed = tokens[min(j, pos):max(j, pos)]
                        return "among" if any(t.lower in ("among", "серед", "среди") for t in crossed) else "alone"
                    break
                if tok.kind == "num" or tok.text == "-" or (tok.is_word and (
                        self._age_word.fullmatch(tok.lower) or self._fillers.fullmatch(tok.lower) or tok.lower == "a"
                        or tok.lower in self._child_links or self._person.fullmatch(tok.lower)
                        or self._number_word(tok, self._units) is not None)) \
                        or tok.text in self._child_links:  # "двое погибших – мужчина и 16-летний подросток"
                    j += step
                    continue
                break
        return None

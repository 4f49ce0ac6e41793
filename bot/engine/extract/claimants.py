"""Who speaks: officials, people named with a role, bodies; control statements with their voices (components claimwatch_claimant and claimwatch_control)."""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any

from bot.engine.control import resolve_controller
from bot.engine.extract.facts import (
    _PATRONYMIC,
    SentenceFacts,
    _quoted_tokens,
    _span,
)
from bot.engine.officials import Official
from bot.engine.text import Token, remembered
from bot.engine.types import Side, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


class ClaimantRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_control(self, view: SentenceView, facts: SentenceFacts) -> None:
        self._find_control(facts, view.tokens, view.lower, view.tok_at)

    def _find_control(self, facts: SentenceFacts, tokens: list[Token], lower: str, tok_at: Any) -> None:
        """Control statements of the sentence (``control.ControlReader``), with the officials and
        bodies named next to them; their controllers are settled per post in ``_control_drafts``."""
        speakers: list[tuple[int, str, Side | None]] = []
        dependent = False
        for pos, tok in enumerate(tokens):
            if tok.is_capitalized:
                off = self._official(tok)
                if off is not None:
                    if self._control.is_dependent(tokens, pos):
                        dependent = True  # "an adviser to President Zelensky said": not Zelensky
                        continue
                    speakers.append((pos, off.claimant, off.side))
                    facts.why.setdefault(("speaker", off.claimant, pos), Why(
                        "claimant", f"officials.tsv row '{off.claimant}', named by a control statement", tok.text, facts.index))
        for claimant, side, matches in self._institutions_in(lower):
            for m in matches:
                speakers.append((tok_at(m.start()), claimant, side))
                facts.why.setdefault(("speaker", claimant, tok_at(m.start())), Why(
                    "claimant", f"institutions.tsv row '{claimant}', named by a control statement",
                    facts.text[m.start():m.end()], facts.index))
        hits = self._control.read(tokens, lower, tok_at, self._actors(tokens, agents_only=False), sorted(speakers),
                                  speaker_unknown=dependent and not speakers)
        facts.control_hits = hits
        if hits:
            facts.control_places = [(pos, place, self._control.named_town(tokens, pos)) for pos, place in facts.places
                                    if not self._control.river_bank(tokens, pos)]
        for hit in hits:
            controller = resolve_controller(hit, hit.claimant_side)
            if controller is None:
                facts.control_guessed.add(len(facts.control))
            facts.control.append((hit.pos, controller or hit.default or Side.RUSSIA))

    def read_claimant(self, view: SentenceView, facts: SentenceFacts) -> None:
        self._find_claimant(facts, view.tokens, view.lower)

    def _institutions_in(self, lower: str) -> list[tuple[str, Side | None, list[re.Match[str]]]]:
        """The bodies (institutions.tsv) a sentence names: (claimant, side, matches) per row that
        matches, in the file's order; kept while the sentence is read."""
        return remembered(self._institutions_seen, lower, lambda: [
            (claimant, side, matches) for pattern, claimant, side in self.institutions
            if (matches := list(pattern.finditer(lower)))] if self._any_institution.search(lower) else [], 256)

    def _official(self, tok: Token) -> Official | None:
        """The official whose surname this capitalized token is (any case ending up to 3 letters)."""
        word = tok.lower
        return remembered(self._officials_seen, word, lambda: next(
            (off for off in self.officials for stem in off.stems
             if " " not in stem and word.startswith(stem) and len(word) - len(stem) <= 3), None))

    def _official_at(self, tokens: list[Token], pos: int) -> Official | None:
        """The official named at ``pos``: a full name first ("Ivan Fedorov", "Іван Федоров"), then a
        surname alone."""
        near = tuple(t.lower for t in tokens[max(0, pos - 1):pos + 2] if t.is_capitalized)
        full = remembered(self._full_names_seen, near, lambda: next(
            (off for off in self.officials for stem in off.stems
             if " " in stem and all(any(w.startswith(part) and len(w) - len(part) <= 3 for w in near)
                                    for part in stem.split())), None))
        return full or self._official(tokens[pos])

    def _claimant_candidates(self, facts: SentenceFacts, tokens: list[Token],
                             lower: str) -> list[tuple[int, str, str, Side | None, str | None, bool, Why]]:
        """Who the sentence may credit: (position, key, label, side, home place, person, what matched)
        of known officials, of people named with a role ("голова ОВА Іван Петренко", "Ivan Petrenko,
        the governor"), and of bodies (institutions.tsv)."""
        found: list[tuple[int, str, str, Side | None, str | None, bool, Why]] = []
        taken: set[int] = set()
        for pos, tok in enumerate(tokens):
            if tok.is_capitalized:
                off = self._official_at(tokens, pos)
                if off is not None:
                    found.append((pos, off.claimant, off.claimant, off.side, off.place, True,
                                  Why("claimant", f"officials.tsv row '{off.claimant}'", tok.text, facts.index)))
                    taken.update((pos - 1, pos, pos + 1))
        place_starts = {p for p, _ in facts.places} | {p for p, _ in facts.oblast_places}
        starts = [t.start for t in tokens]
        bodies: set[int] = set()  # tokens inside a body's name ("Минобороны России") are no person's
        for _, _, matches in self._institutions_in(lower):
            for m in matches:
                first_tok = max(0, bisect.bisect_right(starts, m.start()) - 1)
                last_tok = max(0, bisect.bisect_right(starts, m.end() - 1) - 1)
                bodies.update(range(first_tok, last_tok + 1))
        for pos in range(len(tokens) - 1):
            first, last = tokens[pos], tokens[pos + 1]
            if pos in taken or pos + 1 in taken or pos in place_starts or pos + 1 in place_starts \
                    or pos in bodies or pos + 1 in bodies:
                continue
            if not (self._is_name(first) and self._is_name(last)) or last.lower.endswith(_PATRONYMIC):
                continue
            prev = tokens[pos - 1] if pos > 0 else None
            if prev is not None and prev.lower in ("of", "and", "for", "&") and pos > 1 and tokens[pos - 2].is_capitalized:
                continue  # inside a body's name: "Service of Special Communications and Information Protection"
            if pos + 2 < len(tokens) and self._is_name(tokens[pos + 2]):
                continue
            before = tokens[max(0, pos - 8):pos]
            after = tokens[pos + 2:pos + 6]
            if pos > 0 and tokens[pos - 1].is_word and self._relay.fullmatch(tokens[pos - 1].lower):
                continue  # the outlet that relays: "reports Ukrainska Pravda", "передає Укрінформ"
            role = any(t.is_word and self._role.fullmatch(t.lower) for t in before) or (
                bool(after) and after[0].text == "," and any(t.is_word and self._role.fullmatch(t.lower) for t in after))
            said = (pos > 0 and tokens[pos - 1].is_word and self._attribution.fullmatch(tokens[pos - 1].lower)) or (
                bool(after) and after[0].is_word and self._attribution.fullmatch(after[0].lower))
            if role or said:
                found.append((pos + 1, "person:" + last.lower[:5], f"{first.text} {last.text}", None, None, True, Why(
                    "claimant", "a name " + ("with lexicon.role_words" if role else "next to lexicon.attribution_words"),
                    f"{first.text} {last.text}", facts.index)))
                taken.update((pos, pos + 1))
        for pos, tok in enumerate(tokens):  # a surname alone: "said Peskov", "По словам Балицкого", "Lavrov has stated"
            if pos in taken or pos in place_starts or pos in bodies or pos == 0 or not self._is_name(tok):
                continue
            prev = tokens[pos - 1]
            nxt = [t for t in tokens[pos + 1:pos + 4] if t.is_word]
            said_after = bool(nxt) and (self._attribution.fullmatch(nxt[0].lower) is not None or (
                nxt[0].lower in ("has", "had", "have", "also") and any(
                    self._attribution.fullmatch(t.lower) for t in tokens[pos + 2:pos + 5] if t.is_word)))
            if prev.lower in ("словам", "словами") or (said_after and any(
                    t.is_word and self._role.fullmatch(t.lower) for t in tokens[max(0, pos - 7):pos])):
                found.append((pos, "person:" + tok.lower[:5], tok.text, None, None, True, Why(
                    "claimant", "a surname alone, after «словам» or with a role and a speech verb", tok.text, facts.index)))
                taken.add(pos)
        for claimant, side, matches in self._institutions_in(lower):
            for m in matches:
                pos = max(0, bisect.bisect_right(starts, m.start()) - 1)
                if pos in taken:
                    continue
                label, body_side = (m.group().title() if claimant == "*" else claimant), side
                if side is None:  # "Russian authorities", "місцева влада": the side from the words
                    words = m.group().split()
                    said_side = (Side.RUSSIA if any(self._ru_adj.fullmatch(w) for w in words)
                                 else Side.UKRAINE if any(self._ua_adj.fullmatch(w) for w in words) else None)
                    body_side = said_side
                    if said_side is not None and claimant != "*":
                        label = f"{'Russian' if said_side is Side.RUSSIA else 'Ukrainian'} {claimant}"
                found.append((pos, label, label, body_side, None, False, Why(
                    "claimant", f"institutions.tsv row '{claimant}'", facts.text[m.start():m.end()], facts.index)))
                break
        return sorted(found)

    def _is_name(self, tok: Token) -> bool:
        return (tok.is_capitalized and len(tok.text) > 1 and not tok.text.isupper() and tok.text.isalpha()
                and not self._not_names.fullmatch(tok.lower) and not self._role.fullmatch(tok.lower))

    def _find_claimant(self, facts: SentenceFacts, tokens: list[Token], lower: str) -> None:
        """Who the sentence credits. A name counts only inside an attribution ("said X", "за словами X",
        "X wrote on Telegram", "Source: X", "X: ..."); "he said" credits the last one named."""
        facts.earlier = any(t.is_word and self._earlier.fullmatch(t.lower) for t in tokens)
        quoted = _quoted_tokens(tokens, lambda w: self._attribution.fullmatch(w) is not None)
        attributions = [i for i, t in enumerate(tokens)
                        if t.is_word and self._attribution.fullmatch(t.lower) and i not in quoted]
        label = len(tokens) > 1 and tokens[0].is_word and bool(self._source_label.fullmatch(tokens[0].lower)) \
            and tokens[1].text in (":", "—", "-")
        candidates = [c for c in self._claimant_candidates(facts, tokens, lower) if c[0] not in quoted]
        if candidates:
            first = candidates[0]
            facts.mention = (first[2], first[3])
            facts.why["mention"] = first[6]
        colons = [c[0] for c in candidates if any(t.text == ":" for t in tokens[c[0] + 1:c[0] + 3])]
        if not (attributions or label or colons):
            # a mention, not a credit: its side still tells whose wording a bare "captured" is
            facts.claimant_side = next((c[3] for c in candidates if c[3] is not None), None)
            return
        facts.credited = True
        if not candidates:
            for a in attributions:
                near = [i for i in range(max(0, a - 3), min(len(tokens), a + 4))
                        if tokens[i].is_word and self._role.fullmatch(tokens[i].lower) and i not in quoted]
                if near:
                    i = near[0]
                    nxt = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].is_word \
                        and not self._attribution.fullmatch(tokens[i + 1].lower) else None
                    facts.role_credit = tokens[i].lower + (f" {nxt.lower}" if nxt is not None else "")
                    facts.why["role_credit"] = Why("claimant", "lexicon.role_words next to lexicon.attribution_words",
                                                   _span(facts.text, tokens, min(i, a), max(i + (nxt is not None), a)),
                                                   facts.index)
                    break
        adjacent = any(abs(c[0] - a) <= 2 for c in candidates for a in attributions)
        if not candidates or (not adjacent and any(t.is_word and self._pronouns.fullmatch(t.lower)
                                                   for a in attributions for t in tokens[max(0, a - 2):a + 3])):
            facts.claimant_side = next((c[3] for c in candidates if c[3] is not None), None)
            return  # "he said", "за його словами", "написав він": the last claimant named
        anchors = attributions + colons
        if label:
            chosen = candidates
        else:
            candidates = [c for c in candidates if c[5] or min(abs(c[0] - a) for a in anchors) <= 8]
            if not candidates:  # a body named far from the credit is what the sentence is about
                return
            best = min(candidates, key=lambda c: (min(abs(c[0] - a) for a in anchors), c[0]))
            if not best[5]:  # a body, and the person who speaks for it: "представитель Минобороны Игорь Конашенков"
                best = next((c for c in candidates if c[5] and 0 < c[0] - best[0] <= 8), best)
            chosen = [best]
            for other in candidates:  # "X та Y повідомили", "X and Y said": one joint claimant
                if other is best or other[1] == best[1]:
                    continue
                lo, hi = sorted((other[0], best[0]))
                between = tokens[lo + 1:hi]
                if hi - lo <= 10 and any(t.is_word and self._joint.fullmatch(t.lower) for t in between) \
                        and not any(lo < a < hi for a in attributions):
                    chosen.append(other)
            chosen.sort()
        keys: list[str] = []
        labels: list[str] = []
        for c in chosen:
            if c[1] not in keys:
                keys.append(c[1])
                labels.append(c[2])
        facts.claimant = " and ".join(labels)
        credit = "lexicon.source_labels" if label else "lexicon.attribution_words" if attributions else "a colon after the name"
        said = tokens[0].text if label else tokens[min(attributions, key=lambda a: abs(a - chosen[0][0]))].text \
            if attributions else ":"
        facts.why["claimant"] = Why("claimant", " + ".join([c[6].rule for c in chosen] + [credit]),
                                    " / ".join(c[6].words for c in chosen) + f" … {said}", facts.index)
        facts.person = all(c[5] for c in chosen)
        sides = {c[3] for c in chosen if c[3] is not None}
        facts.claimant_side = sides.pop() if len(sides) == 1 else None
        facts.claimant_place = next((c[4] for c in chosen if c[4]), None)
        facts.back_credit = label or bool(self._attribution_back.search(lower))
        facts.source_line = label

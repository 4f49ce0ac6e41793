"""The attacking party a sentence names, and blame it reports of a party (component claimwatch_blame)."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from bot.engine.extract.facts import SentenceFacts, _span
from bot.engine.text import Token, remembered
from bot.engine.types import Kind, Side, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


class BlameRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_blame(self, view: SentenceView, facts: SentenceFacts) -> None:
        """The attacker the sentence names (nearest an attack, kill or blame word), else the side
        of the weapons named; blame reported of a party."""
        tokens = view.tokens
        facts.actor_sides = self._actor_sides(tokens)
        kills = [i for i, t in enumerate(tokens) if t.is_word and self._kill.fullmatch(t.lower)]
        blamed = self._perpetrator_at(tokens, [p for p, _, _ in facts.cues] + kills)
        facts.perpetrator = blamed[1] if blamed else None
        if blamed:
            facts.why["perpetrator"] = Why("blame", "lexicon.actors: the party nearest an attack or blame word",
                                           _span(view.text, tokens, blamed[0], blamed[0] + (
                                               blamed[0] + 1 < len(tokens) and tokens[blamed[0] + 1].is_word)),
                                           view.index)
        facts.blamed = facts.perpetrator is not None and any(t.is_word and self._blame.fullmatch(t.lower) for t in tokens)
        if facts.perpetrator is None and facts.cues:
            sides = {self._weapon_side[w] for w in facts.weapons if w in self._weapon_side}
            if len(sides) == 1:
                facts.perpetrator = sides.pop()
                facts.why["perpetrator"] = Why("blame", "lexicon.actors.weapon_sides",
                                               ", ".join(sorted(w for w in facts.weapons if w in self._weapon_side)),
                                               view.index)
        self._find_reported(facts, tokens)

    def _actor_sides(self, tokens: list[Token]) -> list[Side]:
        sides = []
        for _, side in self._actors(tokens, agents_only=True):
            sides.append(side)
        return sides

    def _actors(self, tokens: list[Token], *, agents_only: bool) -> list[tuple[int, Side]]:
        """Positions of attacking or holding parties: 'Russian troops', 'окупанти', 'ЗСУ', 'Kremlin',
        'російського удару' (a side's adjective before an attack word), 'войска России', 'киевский режим'.

        With ``agents_only`` False, bare country names count too (used for control statements).
        Several rules ask of the same sentence: its answers are kept while the sentence is read.
        """
        held, answers = self._actors_seen.get(id(tokens), (None, {}))
        if held is not tokens:
            if len(self._actors_seen) > 256:  # the sentences read lately; ids of gone lists are reused
                self._actors_seen.clear()
            answers = {}
            self._actors_seen[id(tokens)] = (tokens, answers)
        if agents_only not in answers:
            answers[agents_only] = self._find_actors(tokens, agents_only)
        return list(answers[agents_only])

    def _find_actors(self, tokens: list[Token], agents_only: bool) -> list[tuple[int, Side]]:
        found: list[tuple[int, Side]] = []
        for pos, tok in enumerate(tokens):
            if not tok.is_word:
                continue
            word = tok.lower
            if not self._may_be_actor(word):
                continue
            if self._ru_agent.fullmatch(word):
                found.append((pos, Side.RUSSIA))
                continue
            if self._ua_agent.fullmatch(word):
                found.append((pos, Side.UKRAINE))
                continue
            if self._force.fullmatch(word):
                # a force named with its country after it: "войска России", "forces of Ukraine"
                nxt = [t for t in tokens[pos + 1:pos + 3] if t.is_word and t.lower not in ("of", "the")][:1]
                if nxt and (nxt[0].is_capitalized or nxt[0].lower == "рф") \
                        and (self._ru_adj.fullmatch(nxt[0].lower) or self._ua_adj.fullmatch(nxt[0].lower)):
                    found.append((pos, Side.RUSSIA if self._ru_adj.fullmatch(nxt[0].lower) else Side.UKRAINE))
                    continue
            side = Side.RUSSIA if self._ru_adj.fullmatch(word) else Side.UKRAINE if self._ua_adj.fullmatch(word) else None
            if side is None:
                continue
            nxt = [t for t in tokens[pos + 1:pos + 4] if t.is_word and t.lower != "of"][:3]  # "accused Ukraine of striking"
            if any(self._force.fullmatch(t.lower) or self._is_cue(t.lower) for t in nxt[:2]) \
                    or (nxt and nxt[0].lower in ("'s", "’s") and any(self._force.fullmatch(t.lower) for t in nxt[1:3])):
                found.append((pos, side))
            elif tok.is_capitalized and ((not agents_only and word in self._country_names) or (
                    (word in self._country_subjects or self._ru_adj.fullmatch(word) or self._ua_adj.fullmatch(word))
                    and self._country_agent(tokens, pos, nxt))):
                found.append((pos, side))  # a country; as an agent: "Russia launched", "удара Украины по", "by Russia"
        sentence = " ".join(t.lower for t in tokens)
        offsets = []
        at = 0
        for t in tokens:
            offsets.append(at)
            at += len(t.lower) + 1
        for pattern, side in self._side_phrases:
            for m in pattern.finditer(sentence):
                pos = max(0, bisect.bisect_right(offsets, m.start()) - 1)
                if not any(p == pos for p, _ in found):
                    found.append((pos, side))
        return sorted(found)

    def _country_agent(self, tokens: list[Token], pos: int, nxt: list[Token]) -> bool:
        """A country named as the one that attacks: the subject of a blame verb ("Russia launched"),
        an attack noun's genitive before its target ("удара Украины по Белгороду", "атаки Росії на"),
        or after "by" following an attack word ("a strike by Russia")."""
        if tokens[pos].lower not in self._country_subjects and tokens[pos].lower not in self._country_genitives:
            return False
        if nxt and tokens[pos + 1] is nxt[0] and self._blame_verbs.fullmatch(nxt[0].lower):
            return True
        before = tokens[pos - 1].lower if pos > 0 else ""
        if before == "by":
            return pos > 1 and self._is_cue(tokens[pos - 2].lower)
        return self._is_cue(before) and pos + 1 < len(tokens) and tokens[pos + 1].lower in ("по", "на", "on")

    def _may_be_actor(self, word: str) -> bool:
        """Whether ``word`` is in any list ``_find_actors`` reads word by word (most words are not)."""
        try:
            return self._actor_words_seen[word]
        except KeyError:
            return remembered(self._actor_words_seen, word, lambda: any(
                p.fullmatch(word) for p in (self._ru_agent, self._ua_agent, self._force, self._ru_adj, self._ua_adj)))

    def _perpetrator_at(self, tokens: list[Token], cue_positions: list[int]) -> tuple[int, Side] | None:
        """The party the sentence says carried out the attack: the actor nearest an attack or blame
        word, leaving out actors that are denied ("российских военных не было") or hedged ("якобы")."""
        anchors = list(cue_positions) + [i for i, t in enumerate(tokens) if t.is_word and self._blame.fullmatch(t.lower)]
        actors = [a for a in self._actors(tokens, agents_only=True)
                  if not self._disowned(tokens, a[0]) and not self._is_speaker(tokens, a[0])]
        if not actors:
            return None
        verbs = [i for i, t in enumerate(tokens) if t.is_word and self._blame_verbs.fullmatch(t.lower)]
        subjects = [a for a in actors if any(a[0] < v for v in verbs)]  # "киевский режим пытается уничтожить"
        if not anchors:
            anchors, actors = verbs, subjects
        if not actors:
            return None
        return min(actors, key=lambda a: min(abs(a[0] - c) for c in anchors))

    def _find_reported(self, facts: SentenceFacts, tokens: list[Token]) -> None:
        """Blame the sentence reports of a party: "the Ukrainian side is accusing Russian troops of
        attacking", "звинувачення росіян в обстрілі Силами оборони", "фейк о «российской бомбёжке»",
        "звинуватила ЗСУ", "отвергли причастность российских военных". The accused is the first party
        named after the word (the second, when the first is the accuser's genitive); the accuser is
        the party named before it or after it, else the accused's opponent."""
        actors = [a for a in self._actors(tokens, agents_only=True) if not self._is_speaker(tokens, a[0])]
        sides = self._actors(tokens, agents_only=False)
        for pos, tok in enumerate(tokens):
            if not (tok.is_word and self._accusation.fullmatch(tok.lower)):
                continue
            after = [a for a in actors if pos < a[0] <= pos + 10]
            if not after:
                continue
            if len(after) > 1 and after[0][1] != after[1][1]:
                accuser, accused = after[0][1], after[1][1]
            else:
                accused = after[0][1]
                before = [a for a in sides if pos - 4 <= a[0] < pos and a[1] is not accused]
                accuser = before[-1][1] if before else (Side.UKRAINE if accused is Side.RUSSIA else Side.RUSSIA)
            if accuser is accused:
                continue
            if not any(c[0] > pos for c in facts.cues) and not any(
                    t.is_word and (self._kill.fullmatch(t.lower) or self._blame_verbs.fullmatch(t.lower))
                    for t in tokens[pos + 1:]):
                continue  # blamed for something that is not an attack ("обвинил ... в том, что войска оставили")
            kind = min((c for c in facts.cues if c[0] > pos), key=lambda c: (c[2], c[0]), default=None)
            facts.reported.append((accuser, accused, kind[1] if kind else Kind.STRIKE))
            facts.why["reported_kind"] = facts.why.get(("cue", kind[0]), Why("kinds", "?")) if kind else Why(
                "blame", "an accusation naming no attack word: strike", tok.text, facts.index)
            facts.why["reported"] = Why("blame", "lexicon.actors.accusation_words (blame reported of a party)",
                                        _span(facts.text, tokens, pos, after[-1][0] if len(after) > 1 else after[0][0]),
                                        facts.index)
            facts.perpetrator = None  # the blame is the other party's word, not the speaker's
            return

    def _is_speaker(self, tokens: list[Token], pos: int) -> bool:
        """A party named as the one that speaks, not the one that strikes: "Russia's Emergency
        Situations Ministry", "Минобороны", "Ukrainian authorities", "Russian state-run news agency"."""
        if self._speaker_nouns.fullmatch(tokens[pos].lower):
            return True
        nxt = [t for t in tokens[pos + 1:pos + 5] if t.is_word and t.lower not in ("'s", "’s")][:3]
        prev = [t for t in tokens[max(0, pos - 3):pos] if t.is_word][-2:] if tokens[pos].lower in (
            "рф", "россии", "росії", "russia", "украины", "україни", "ukraine") else []  # "Минобороны РФ"
        return any(self._speaker_nouns.fullmatch(t.lower) for t in nxt + prev)

    def _disowned(self, tokens: list[Token], pos: int) -> bool:
        """An actor under a negation or a hedge: "не авиаударом российской авиации", "allegedly by
        Russian aircraft", "Russian forces do not work for civilian purposes"; a country as a place:
        "на території РФ", "in Russia"."""
        if pos > 0 and tokens[pos - 1].is_word and self._location_words.fullmatch(tokens[pos - 1].lower) \
                and tokens[pos].lower in ("рф", "росії", "россии", "russia", "україни", "украины", "ukraine"):
            return True
        for tok in tokens[max(0, pos - 3):pos]:
            if tok.is_word and (self._negations.fullmatch(tok.lower) or self._hedges.fullmatch(tok.lower)):
                return True
        for tok in tokens[pos + 1:pos + 12]:
            if tok.kind == "punct" and tok.text in (",", ";", ":", ".", "—", "–"):
                break
            if tok.is_word and self._negations.fullmatch(tok.lower):
                return True
        return False

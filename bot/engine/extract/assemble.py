"""A post's claims from its sentences' facts: owners, places, one claim per place, kind and claimant (component claimwatch_claims)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Sequence

from bot.engine.extract.explain import explain_draft
from bot.engine.extract.facts import (
    Count,
    Draft,
    SentenceFacts,
    _claimant_key,
    _current_counts,
    _paragraphs,
    _share_event_dates,
)
from bot.engine.types import Claim, Kind, Lang, Place, Qualifier, Side, SourceInfo, Why

if TYPE_CHECKING:
    from bot.engine.pipeline import PostContext, SentenceView


_OPENING_QUOTES = ("«", "“", "„", '"')


class AssemblyRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def assemble(self, text: str, views: Sequence[SentenceView], facts: list[SentenceFacts], post: PostContext,
                 traces: list[dict[str, Why]] | None) -> list[Claim]:
        """The post's claims from its sentences' facts: counts read against the whole post, then
        claims per place and kind, one per claimant."""
        self._resolve_post_counts(facts)
        for f, paragraph in zip(facts, _paragraphs(text, [v.text for v in views])):
            f.paragraph = paragraph
        return self._assemble(facts, post.lang, post.day, post.source, traces)

    def _assemble(self, facts: list[SentenceFacts], lang: str, post_day: date, source: SourceInfo | None,
                  traces: list[dict[str, Why]] | None = None) -> list[Claim]:
        self._assign_owners(facts)
        post_claimant = None  # a sentence nobody is credited with is the outlet's
        post_claimant_side = next((f.claimant_side for f in facts if f.claimant_side), None)
        if post_claimant_side is None:
            sides = [s for f in facts for s in f.actor_sides]
            if sides and not any(f.claimant for f in facts):
                post_claimant_side = max(dict.fromkeys(sides), key=sides.count)  # a tie: the side named first
        if post_claimant_side is None and source is not None and source.side in (Side.UKRAINE, Side.RUSSIA):
            post_claimant_side = source.side
        home_place = next((f.claimant_place for f in facts if f.claimant_place), None)
        homes = {f.claimant: f.claimant_place for f in facts if f.claimant and f.claimant_place}
        office_places = sorted((p for f in facts for _, p in f.role_places), key=lambda p: p.level == "oblast")
        current: Place | None = None
        targets_by_place: dict[str, set[str]] = {}
        attack: list[Draft] = []
        unplaced: list[SentenceFacts] = []
        for f in facts:
            sentence_places = [p for _, p in f.places] or [p for _, p in f.oblast_places]
            anchor_positions = [p for p, _, _ in f.cues] + [c.pos for c in f.counts] + [p for p, _ in f.control]
            if f.has_attack:
                place = self._nearest(f.places or f.oblast_places, anchor_positions) or current
                if not f.places and current is not None and place is not current and place.name == current.oblast:
                    place = current  # "the governor of the Donetsk region said …": still the town's toll
                home = homes.get(f.owner[0]) if f.owner is not None else home_place
                if place is None and home:  # the speaker's own town; not another speaker's of the post
                    place = self._home(home)
                if place is None and office_places and (f.counts or any(t == 0 for _, _, t in f.cues)):
                    # "мэр Харькова сообщил о двух погибших": the office's town
                    place = office_places[0]
                if place is not None:
                    draft = self._draft_for(attack, place, f)
                    for earlier in self._merge_attack(draft, f):
                        self._spin_off(attack, draft, earlier)
                elif f.counts or f.zero_killed or f.zero_injured:
                    unplaced.append(f)  # a toll before any place is named ("12 killed overnight. … Odesa")
            if sentence_places and not (not f.places and current is not None and current.oblast is not None
                                        and all(p.name == current.oblast for _, p in f.oblast_places)):
                current = sentence_places[0] if not f.places else self._nearest(f.places, anchor_positions) or f.places[0][1]
            if current is not None and f.targets:
                # what was hit may be named in a sentence without a cue ("the TV tower was put out of action")
                targets_by_place.setdefault(current.key, set()).update(f.targets)
        self._place_unplaced(attack, unplaced)
        self._settle_oblasts(facts, attack)
        self._settle_landmarks(facts, attack)
        _share_event_dates(attack)
        source_side = source.side if source is not None and source.side in (Side.UKRAINE, Side.RUSSIA) else None
        control = self._control_drafts(facts, post_claimant_side, source_side, home_place)
        self._credited_without_facts(facts, attack, control)
        self._reported_claims(facts, attack)
        self._blame_from_owner(facts, attack)
        self._uncredited_blame_to_outlet(facts, attack)
        claims: list[Claim] = []
        for draft in attack:
            if draft.kind is None and draft.killed is None and draft.injured is None and draft.children_killed is None \
                    and not draft.credited_only:
                continue
            draft.targets |= targets_by_place.get(draft.place.key, set())
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
            if traces is not None:
                traces.append(explain_draft(draft, claims[-1], facts))
        for draft in control:
            claims.append(self._to_claim(draft, lang, post_day, source, post_claimant, post_claimant_side))
            if traces is not None:
                traces.append(explain_draft(draft, claims[-1], facts))
        return claims

    def _assign_owners(self, facts: list[SentenceFacts]) -> None:
        """Whose claim each sentence is. A credited sentence is its claimant's; "he said" and an
        uncredited sentence continue the last claimant credited; sentences before the first credit
        are the first claimant's. A claimant of a joint credit speaking alone stays in the joint claim."""
        canon: dict[tuple[str, ...], str] = {}
        for f in facts:
            if f.claimant:
                key = tuple(sorted(_claimant_key(part) for part in f.claimant.split(" and ")))
                joint = next((label for k, label in canon.items() if len(key) == 1 and len(k) > 1 and key[0] in k), None)
                f.claimant = joint or canon.setdefault(key, f.claimant)
        for i, f in enumerate(facts):
            if f.credited and not f.claimant and not any(g.claimant for g in facts[:i]):
                named_in = next((g for g in (f, facts[i - 1] if i else f) if g.mention), None)
                if named_in is not None and named_in.mention is not None:
                    # "Gladkov on Oct." / "22 claimed that ...": the name just before
                    f.claimant, f.claimant_side = named_in.mention
                    if "mention" in named_in.why:
                        f.why["claimant"] = named_in.why["mention"]
        open_quote = False
        paragraph = 0
        for f in facts:  # a quote running over several sentences credits no one inside it
            text = f.text
            if open_quote and f.paragraph != paragraph and text.lstrip()[:1] not in _OPENING_QUOTES:
                open_quote = False  # a new paragraph that does not open with a quote mark: the quote has ended
            paragraph = f.paragraph
            if open_quote:
                ends = [text.rfind(ch) for ch in "»”\""]
                if max(ends) < 0:
                    f.claimant, f.credited, f.back_credit, f.role_credit = None, False, False, None
                    continue
                text = text[max(ends) + 1:]
            balance = text.count("«") + text.count("“") - text.count("»") - text.count("”")
            open_quote = balance > 0 or (balance == 0 and text.count('"') % 2 == 1)
            if open_quote and self._dash_credit.search(f.text.lower()):
                open_quote = False  # "“… — said Peskov.": the dash and the credit end the quote
        last_person: bool | None = None
        for f in facts:  # "заявил глава региона" after a ministry spoke: another claimant
            if f.claimant:
                last_person = f.person
            elif f.role_credit and last_person is False:
                f.claimant = f.role_credit
                if "role_credit" in f.why:
                    f.why["claimant"] = f.why["role_credit"]
                last_person = True
        named = [i for i, f in enumerate(facts) if f.claimant]
        update = next((i for i, f in enumerate(facts) if self._update_label.match(f.text.strip().lower())), len(facts))
        for i, f in enumerate(facts):
            if f.claimant:
                f.owner = (f.claimant, f.claimant_side)
                continue
            before = [k for k in named if k < i]
            if i > update and not f.credited and not any(update < k < i for k in named):
                f.owner = None  # "Обновлено" / "Updated:": the outlet's own update of the story
                continue
            if before:
                j = before[-1]
                f.owner = (facts[j].claimant or "", facts[j].claimant_side)
                continue
            if named:
                j = named[0]
                f.owner = (facts[j].claimant or "", facts[j].claimant_side)
            else:
                f.owner = None

    @staticmethod
    def _settle_landmarks(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A claim placed only by a town named as a landmark ("вибухи поряд із Бєлгородом") joins the
        same claimant's claim at a town close by ("у Шебекіно")."""
        near = {k for f in facts for k in f.near_keys}
        for draft in list(attack):
            if draft.place.key not in near or draft.place.lat is None:
                continue
            close = [d for d in attack if d is not draft and d.place.key != draft.place.key
                     and d.place.lat is not None and d.place.lon is not None
                     and abs(d.place.lat - draft.place.lat) + abs(d.place.lon - (draft.place.lon or 0)) < 1.0]
            other = next((d for d in close if d.claimant == draft.claimant), None)
            if other is None:
                if close:
                    draft.place = close[0].place
                continue
            for name in ("killed", "injured", "children_killed", "perpetrator", "date"):
                if getattr(other, name) is None:
                    setattr(other, name, getattr(draft, name))
            other.targets |= draft.targets
            other.weapons |= draft.weapons
            attack.remove(draft)

    @staticmethod
    def _settle_oblasts(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A region's claim in a post that names a town of that region is the town's claim ("attacks
        in the Zaporizhzhia region ... missiles at Zaporizhzhia")."""
        for draft in list(attack):
            if draft.place.level != "oblast":
                continue
            town = next((d for d in attack if d is not draft and d.claimant == draft.claimant
                         and d.place.level != "oblast" and d.place.oblast == draft.place.oblast), None)
            if town is None:
                place = next((p for f in facts for _, p in f.places if p.oblast == draft.place.oblast), None)
                if place is not None:
                    draft.place = place
                continue
            for name in ("killed", "injured", "children_killed", "perpetrator", "date"):
                if getattr(town, name) is None:
                    setattr(town, name, getattr(draft, name))
            if draft.kind_tier < town.kind_tier:
                town.kind, town.kind_tier = draft.kind, draft.kind_tier
            town.targets |= draft.targets
            town.weapons |= draft.weapons
            for index, text in zip(sorted(draft.sentences), draft.evidence):
                if index not in town.sentences:
                    town.sentences.add(index)
                    town.evidence.append(text)
            attack.remove(draft)

    @staticmethod
    def _main_place(facts: list[SentenceFacts], attack: list[Draft]) -> Place | None:
        """The place a strike post is about: its first attack claim's, else the first place named
        where blame is laid."""
        if attack:
            return attack[0].place
        return next((p for f in facts if f.reported or (f.perpetrator is not None and f.blamed) for _, p in f.places), None)

    def _reported_claims(self, facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """A party's blame that the post reports is that party's claim (shared rule 2)."""
        place = self._main_place(facts, attack)
        if place is None:
            return
        names = {Side.RUSSIA: "Russian side (as reported)", Side.UKRAINE: "Ukrainian side (as reported)"}
        for f in facts:
            for accuser, accused, kind in f.reported:
                own = f.owner is not None and f.owner[1] is accuser
                if own and not any(t in ("не", "not", "ні", "нет") for t in f.text.lower().split()):
                    for d in attack:  # the speaker's own accusation: the speaker's claim blames
                        if f.index in d.sentences and d.perpetrator is None:
                            d.perpetrator = accused
                    continue
                claimant = names[accuser]
                if any(d.claimant == claimant for d in attack):
                    continue
                draft = Draft(place=place, kind=kind, kind_tier=0, perpetrator=accused, claimant=claimant,
                              claimant_side=accuser, credited_only=True)
                draft.sentences.add(f.index)
                draft.evidence.append(f.text)
                attack.append(draft)

    def _credited_without_facts(self, facts: list[SentenceFacts], attack: list[Draft],
                                control: list[Draft]) -> None:
        """Every claimant a strike post credits gets a claim, also one that adds no figure ("Kyrylenko
        said people could be trapped", a denial that blames no one)."""
        place = self._main_place(facts, attack)
        if place is None:
            return
        have = {d.claimant for d in attack} | {d.claimant for d in control}
        for f in facts:
            if not f.claimant or not f.credited or f.control or f.owner is None or f.source_line:
                continue
            claimant, side = f.owner
            if claimant in have:
                continue
            have.add(claimant)
            draft = Draft(place=place, claimant=claimant, claimant_side=side, credited_only=True)
            self._note(draft, f)
            attack.append(draft)

    @staticmethod
    def _blame_from_owner(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """Blame stated anywhere by a claimant goes to that claimant's claims ("киевский режим пытается
        уничтожить", quoted after the facts)."""
        for draft in attack:
            if draft.perpetrator is not None:
                continue
            for f in facts:
                if f.perpetrator is not None and f.owner is not None and f.owner[0] == draft.claimant:
                    draft.perpetrator = f.perpetrator
                    break
                if f.perpetrator is not None and f.owner is None and not draft.claimant:
                    draft.perpetrator = f.perpetrator
                    break

    @staticmethod
    def _uncredited_blame_to_outlet(facts: list[SentenceFacts], attack: list[Draft]) -> None:
        """When the outlet speaks for itself in the post (an update after the official's figures), the
        attacker named only in sentences that credit no one is the outlet's word, not the official's."""
        for outlet in (d for d in attack if not d.claimant and d.perpetrator is None):
            for draft in attack:
                if draft is outlet or not draft.claimant or draft.place.key != outlet.place.key \
                        or draft.perpetrator is None:
                    continue
                blaming = [f for f in facts if f.index in draft.sentences and f.perpetrator is not None]
                if blaming and not any(f.credited or f.claimant for f in blaming):
                    outlet.perpetrator, draft.perpetrator = draft.perpetrator, None

    def _home(self, name: str) -> Place | None:
        found = self.gazetteer.lookup(name)
        return found[0] if found else None

    @staticmethod
    def _nearest(places: Sequence[tuple[int, Place]], anchors: Sequence[int], prefer_after: bool = False) -> Place | None:
        if not places:
            return None
        if not anchors:
            return places[0][1]

        def distance(item: tuple[int, Place]) -> tuple[int, int]:
            d = min(abs(item[0] - a) for a in anchors)
            after = any(item[0] > a for a in anchors)
            return d, 0 if (after == prefer_after) else 1

        return min(places, key=distance)[1]

    def _draft_for(self, drafts: list[Draft], place: Place, facts: SentenceFacts) -> Draft:
        """The claim a sentence adds to: its claimant's claim for its place (one claim per credited
        claimant), unless it quotes an earlier figure that differs ("initially gave six") or an
        uncredited sentence gives other figures."""
        owner = facts.owner[0] if facts.owner else ""
        claimant = owner
        for draft in reversed(drafts):
            if draft.place.key == place.key and (draft.claimant or "") == owner:
                if draft.accepts_counts(facts):
                    return draft
                if facts.earlier:
                    claimant = f"{owner} (earlier figure)" if owner else "earlier reports (unnamed)"
                else:
                    return draft
                break
        for draft in reversed(drafts):
            if claimant != owner and draft.place.key == place.key and (draft.claimant or "") == claimant:
                return draft
        draft = Draft(place=place)
        if facts.owner is not None and claimant:
            draft.claimant, draft.claimant_side = claimant, facts.owner[1]
        elif facts.owner is not None:
            draft.claimant = ""
        drafts.append(draft)
        return draft

    def _merge_attack(self, draft: Draft, f: SentenceFacts) -> list[Count]:
        """Adds a sentence's facts to a draft; returns the earlier figures it quotes beside the current ones."""
        for pos, kind, tier in f.cues:
            if tier < draft.kind_tier:
                draft.kind, draft.kind_tier = kind, tier
        current, earlier = _current_counts(f.counts)
        for count in current.values():
            held = draft.killed if count.field == "killed" else draft.injured
            # the latest stated toll is the claim's: "… 16 killed. … the toll has risen to 19"
            if held is None or held.implied or (count.rise and not count.earlier and count.value > held.value):
                if count.field == "killed":
                    draft.killed = count
                else:
                    draft.injured = count
        if f.zero_killed and draft.killed is None:
            draft.killed = Count("killed", 0, Qualifier.EXACT, 0, why=f.why.get("zero_killed"))
        if f.zero_injured and draft.injured is None:
            draft.injured = Count("injured", 0, Qualifier.EXACT, 0, why=f.why.get("zero_injured"))
        children = f.children_killed
        killed_before = [c for c in [current.get("killed"), *earlier] if c is not None and c.field == "killed"
                         and c.pos <= f.children_pos]
        if children is not None and killed_before:
            owner = max(killed_before, key=lambda c: c.pos)
            if owner is not current.get("killed"):
                owner.children = children  # "the death toll was 33, including one child, … risen to 34"
                children = None
        if children is not None and draft.children_killed is None:
            draft.children_killed = children
            if draft.killed is None and not f.children_only:
                draft.killed = Count("killed", children, Qualifier.EXACT, 0, implied=True, why=Why(
                    "assembly", "implied by the children killed: " + (c.rule if (c := f.why.get("children")) else "?"),
                    c.words if c else "", f.index))
        if f.perpetrator is not None and draft.perpetrator is None:
            draft.perpetrator = f.perpetrator
        draft.targets |= f.targets
        draft.weapons |= f.weapons
        self._note(draft, f)
        return earlier

    def _place_unplaced(self, drafts: list[Draft], unplaced: list[SentenceFacts]) -> None:
        """Counts read before any place was named go to the incident the post is about: its first
        attack claim, when that claim does not give other figures."""
        if not drafts or not unplaced:
            return
        first = next((d for d in drafts if d.kind is not None), drafts[0])
        for f in unplaced:
            owner = f.owner[0] if f.owner else ""
            main = next((d for d in drafts if (d.claimant or "") == owner), first)
            if main.accepts_counts(f):
                for earlier in self._merge_attack(main, f):
                    self._spin_off(drafts, main, earlier)

    @staticmethod
    def _spin_off(drafts: list[Draft], draft: Draft, count: Count) -> None:
        """An earlier figure quoted beside the current one is a claim of its own (listed before the
        current claim, so that later sentences keep adding to the current one)."""
        label = f"{draft.claimant} (earlier figure)" if draft.claimant else None
        other = Draft(place=draft.place, kind=draft.kind, kind_tier=draft.kind_tier, claimant=label,
                      claimant_side=draft.claimant_side, date=draft.date, evidence=list(draft.evidence[-1:]))
        if count.field == "killed":
            other.killed, other.children_killed = count, count.children
        else:
            other.injured = count
        drafts.insert(drafts.index(draft), other)

    @staticmethod
    def _note(draft: Draft, f: SentenceFacts) -> None:
        if f.index not in draft.sentences:
            draft.sentences.add(f.index)
            draft.evidence.append(f.text)
        if f.owner is not None and draft.claimant is None:
            draft.claimant, draft.claimant_side = f.owner
        if f.date and draft.date is None:
            draft.date = f.date

    def _to_claim(self, d: Draft, lang: str, post_day: date, source: SourceInfo | None,
                  post_claimant: str | None, post_side: Side | None) -> Claim:
        claimant = d.claimant or post_claimant or (source.role or source.name if source else None)
        side = d.claimant_side or (post_side if not d.claimant else None)
        if d.kind is None:
            d.kind = Kind.STRIKE
        evidence = " ".join(d.evidence)
        if len(evidence) > 600:
            evidence = evidence[:597] + "..."
        return Claim(
            kind=d.kind,
            place=d.place,
            date=d.date or post_day,
            evidence=evidence,
            killed=d.killed.value if d.killed else None,
            injured=d.injured.value if d.injured else None,
            children_killed=d.children_killed,
            qualifier=d.killed.qualifier if d.killed else None,
            injured_qualifier=d.injured.qualifier if d.injured else None,
            controller=d.controller,
            perpetrator=d.perpetrator,
            claimant=claimant,
            claimant_side=side,
            targets=tuple(sorted(d.targets)),
            weapons=tuple(sorted(d.weapons)),
            lang=Lang(lang),
        )

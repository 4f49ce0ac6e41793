"""Control claims of a post: one per town and controller, each with its voice (part of claimwatch_claims)."""

from __future__ import annotations

from bot.engine.control import ControlHit, is_side_label, opposite, resolve_controller
from bot.engine.control_voices import side_label
from bot.engine.extract.facts import Draft, SentenceFacts
from bot.engine.text import guess_language
from bot.engine.types import Kind, Place, Side


class ControlClaimRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def _control_drafts(self, facts: list[SentenceFacts], post_side: Side | None, source_side: Side | None,
                        home_place: str | None) -> list[Draft]:
        """One control claim per place, controller and credited claimant.

        A statement is about the town named in its clause; "the city" or a denial without a name
        refers to the town of the post's last control statement (or the speaker's own town). Its
        claimant is the party credited next to it, else the sentence's speaker, else the one a
        following "Про це повідомив X" names, else the last speaker. Then, per post: troops
        "entering" a town are no claim when the post contests it; a denial needs a capture claim
        to deny; a capture that names no side takes the wording's side ("окупація"), the side the
        same claimant gives the town elsewhere in the post, or the claimant's side.
        """
        statements: list[tuple[SentenceFacts, ControlHit, Place, str | None, Side | None]] = []
        current: Place | None = None
        topic = next((place for f in facts for _, place, _ in f.control_places), None) or next(
            (place for f in facts if not f.control_hits for _, place in f.places), None)  # not "берег Днепра"
        speaker: tuple[str | None, Side | None] = (None, None)
        for i, f in enumerate(facts):
            nxt = facts[i + 1] if i + 1 < len(facts) else None
            credit = (nxt.claimant, nxt.claimant_side) if nxt is not None and nxt.claimant \
                and self._control.opens_with_attribution(nxt.text) else None
            for hit in f.control_hits:
                place = self._control_place(f.control_places, hit.pos)
                if place is None and (hit.town_word or hit.kind in ("hold", "refute", "withdraw")):
                    place = current
                if place is None and current is None and hit.kind in ("withdraw", "hold", "refute"):
                    place = topic  # "withdrew from the right bank. Kherson ...": the post's town
                if place is None and current is None and home_place:
                    place = self._home(home_place)
                if place is None:
                    continue
                claimant, side = hit.claimant, hit.claimant_side
                if hit.aside:
                    statements.append((f, hit, place, None, None))  # the writer's own: the outlet's claim
                    current = place
                    continue
                named = credit or ((f.claimant, f.claimant_side) if f.claimant else None)
                if not hit.reported and is_side_label(claimant) and named is not None and not hit.speaker_unknown \
                        and named[1] in (None, side):
                    claimant, side = named  # "Сили оборони запевнили ..., заявив речник X": X (not the other side's voice)
                elif claimant is None and (not hit.speaker_unknown or (hit.anonymous and f.credited and named)):
                    claimant, side = named or speaker  # an unknown speaker the sentence credits by name is that name
                statements.append((f, hit, place, claimant, side))
                current = place
            if f.claimant:
                speaker = (f.claimant, f.claimant_side)
            if f.places and not f.control_hits:
                current = f.places[0][1]
        advancing = any(self._control.in_progress(f.text) for f in facts)
        contested = {place.key for _, hit, place, _, _ in statements if hit.kind in ("hold", "refute")}
        capture_at = {f.index for f, hit, _, _, _ in statements if hit.kind in ("capture", "entry")}
        resolved: list[tuple[SentenceFacts, ControlHit, Place, str | None, Side | None, Side | None]] = []
        for f, hit, place, claimant, side in statements:
            if hit.kind == "entry" and place.key in contested:
                continue  # "entered the town", answered by "the town is under our control"
            if hit.kind == "refute" and not {f.index, f.index - 1} & capture_at:
                continue  # a denial of something other than a capture
            if hit.kind == "withdraw" and any(h.kind == "hold" and p.key == place.key and cl == claimant
                                              for _, h, p, cl, _ in statements):
                continue  # "withdrew to better positions ... fighting goes on in the town": still held
            if hit.progressive and advancing:
                continue  # "продвигаются ..., освобождая город": an advance, not a claim
            if hit.alleged and claimant is None:
                continue  # "allegedly" with nobody credited
            judge = side if side is not None or claimant is not None or hit.speaker_unknown else source_side
            if hit.fighting and judge is Side.RUSSIA:
                continue  # the attacker reporting fighting in a town it has not taken
            resolved.append((f, hit, place, claimant, side, resolve_controller(hit, judge)))
        drafts: list[Draft] = []
        unnamed: set[int] = set()
        for f, hit, place, claimant, side, controller in resolved:
            if controller is None:
                if hit.share:
                    continue
                judge = side if side is not None or claimant is not None or hit.speaker_unknown else post_side
                named = [c for g, h, p, cl, _, c in resolved if c is not None and p.key == place.key and cl == claimant
                         and h.kind in ("capture", "withdraw", "hold")]
                # "наші воїни" in a Ukrainian-language post nobody else is credited with: Ukraine's
                ours = Side.UKRAINE if hit.relative == "own" and guess_language(f.text) == "uk" else None
                if hit.default is Side.RUSSIA:
                    controller = Side.RUSSIA  # occupation is Russian in every voice
                elif named:
                    controller = named[0]
                elif hit.kind == "withdraw":
                    announcer = judge or ours
                    if announcer is None:
                        continue  # a withdrawal by nobody we can tell
                    controller = opposite(announcer)  # "приказ о выводе войск из X": the announcer's own troops
                else:
                    controller = judge or ours or hit.default or Side.RUSSIA
            refuter = next(
                (c for g, h, _, _, _, c in resolved if g is f and h.kind in ("hold", "refute") and c is not None), None)
            denier = side if side is not None else refuter
            # "Міноборони РФ заявило про захоплення X, проте Генштаб ЗСУ це спростував": the capture stays its claimant's
            answered = side is not None and refuter is not None and side is not refuter
            if hit.refuted and hit.agent is None and hit.relative is None and not hit.reported and denier is not None \
                    and not answered:
                # "reports of the capture of X are a lie, the ZSU said": the capture is the other side's
                controller = opposite(denier)
                claimant, side = side_label(controller, "unnamed, as reported"), controller
            if side is not None and controller is not side:
                denied = any(c is side and p.key == place.key and h.kind in ("hold", "refute")
                             for _, h, p, _, _, c in resolved)
                if hit.kind in ("hold", "refute") or (hit.kind in ("capture", "entry") and denied):
                    # a denial is the denier's; a capture the speaker denies is the other side's, as reported
                    claimant = side_label(controller, "unnamed" if hit.kind in ("hold", "refute") else "as reported")
                    side = controller
            if hit.aside:
                if not any(g is f and h is not hit and not h.aside and c is controller and p.key == place.key
                           for g, h, p, _, _, c in resolved):
                    continue  # "..., which Russia captured in March": history, unless it agrees with the statement
                draft = Draft(place=place, kind=Kind.CONTROL, controller=controller)
                drafts.append(draft)
                draft.why.setdefault("controller", (f, hit))
                self._note(draft, f)
                draft.claimant, draft.claimant_side = None, None
                continue
            draft = self._control_draft_for(drafts, place, controller, claimant, side, unnamed)
            draft.why.setdefault("controller", (f, hit))  # --explain: the statement that made the claim
            headline = f.index == 0 and len(facts) > 1 and not f.credited and not f.text.rstrip().endswith((".", "…"))
            if claimant is None and (hit.speaker_unknown or headline):
                unnamed.add(id(draft))  # someone the post does not name yet said it (or a headline sums it up)
            if draft.claimant is None and claimant is not None:
                draft.claimant, draft.claimant_side = claimant, side
            held = draft.claimant, draft.claimant_side
            self._note(draft, f)
            draft.claimant, draft.claimant_side = held  # the statement's claimant, not the sentence's first name
        return drafts

    def _control_place(self, places: list[tuple[int, Place, bool]], pos: int) -> Place | None:
        """The town a statement is about: one the sentence introduces as a town ("город Лисичанск в
        Луганской Народной Республике") unless another stands right by the phrase, else the nearest."""
        if any(place.name not in self._control.capitals for _, place, _ in places):
            # "Киев опроверг заявление Москвы о захвате X": a capital beside another place is a government
            places = [(p, place, is_named) for p, place, is_named in places
                      if is_named or place.name not in self._control.capitals]
        named = [(p, place) for p, place, is_named in places if is_named]
        beside = [(p, place) for p, place, is_named in places if not is_named and abs(p - pos) <= 2]
        if named and not beside:
            return self._nearest(named, [pos], prefer_after=True)
        return self._nearest([(p, place) for p, place, _ in places], [pos], prefer_after=True)

    @staticmethod
    def _control_draft_for(drafts: list[Draft], place: Place, controller: Side, claimant: str | None,
                           side: Side | None, unnamed: set[int]) -> Draft:
        """The draft a statement adds to: one for its place and controller by the same claimant. A
        statement credited to nobody joins the last one; one credited to a side only ("Ukrainian
        side") joins a named claimant of that side, and a named claimant completes such a draft. A
        statement the post credits to nobody stays the outlet's own claim ("Ukrainian forces entered
        Lyman"; "the Russian MoD confirmed the withdrawal" is another claim)."""
        same = [d for d in drafts if d.place.key == place.key and d.controller is controller]
        base = claimant.split(" (")[0] if claimant else None
        for d in reversed(same):
            if claimant is None or (d.claimant is not None and d.claimant.split(" (")[0] == base):
                return d
        for d in reversed(same):
            if is_side_label(claimant) and d.claimant_side is side:
                return d
            if is_side_label(d.claimant) and (d.claimant_side is side or side is None):
                d.claimant = claimant
                return d
        for d in reversed(same):
            if d.claimant is None and id(d) in unnamed and side is controller:
                # "an adviser said the city has not fallen ... our side continues to defend, Arestovych said"
                return d
        draft = Draft(place=place, kind=Kind.CONTROL, controller=controller)
        drafts.append(draft)
        return draft

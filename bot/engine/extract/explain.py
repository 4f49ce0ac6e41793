"""Where each field of a claim came from (``claimwatch extract --explain``)."""

from __future__ import annotations

from typing import Any, Sequence

from bot.engine.extract.facts import Draft, SentenceFacts
from bot.engine.types import Claim, Why


EXPLAINED = ("place", "kind", "killed", "injured", "children_killed", "qualifier", "injured_qualifier", "controller",
             "perpetrator", "claimant", "date")


def explain_draft(draft: Draft, claim: Claim, facts: Sequence[SentenceFacts]) -> dict[str, Why]:
    """Where each field of ``claim`` (made from ``draft``) came from, read from what the sentences
    recorded when they matched (nothing is matched again). A field with no value is left out."""
    own = [f for f in facts if f.index in draft.sentences]
    ordered = own + [f for f in facts if f.index not in draft.sentences]  # the claim's sentences first
    out: dict[str, Why] = {}
    statement = draft.why.get("controller")
    place = next((f.why[k] for k in (("place", draft.place.key), ("role_place", draft.place.key))
                  for f in ordered if k in f.why), None)
    out["place"] = place or Why("assembly", "the claimant's home place (officials.tsv) or the post's last place")
    if statement is not None:
        f, hit = statement
        out["kind"] = Why("control", f"control.{hit.group}: a control statement", f.text[hit.span[0]:hit.span[1]], f.index)
    else:
        cue = next((f.why.get(("cue", pos)) for f in ordered for pos, kind, tier in f.cues
                    if kind is draft.kind and tier == draft.kind_tier), None)
        if cue is None and draft.credited_only and draft.kind_tier == 0:  # a blame the post reports
            cue = next((f.why["reported_kind"] for f in ordered if f.reported and "reported_kind" in f.why), None)
        out["kind"] = cue or Why("assembly", "no kind word: strike" if draft.kind_tier == 9 else "the kind of a related claim")
    for name in ("killed", "injured"):
        count = getattr(draft, name)
        if count is not None:
            out[name] = count.why or Why("counts", "?")
    if claim.children_killed is not None:
        children = draft.killed.why if draft.killed is not None and draft.killed.children == claim.children_killed \
            and draft.killed.children is not None else None
        out["children_killed"] = children or next(
            (f.why["children"] for f in ordered if f.children_killed == claim.children_killed and "children" in f.why),
            Why("counts", "?"))
    if draft.killed is not None:
        out["qualifier"] = draft.killed.qualifier_why or Why("counts", "exact (a figure given by a phrase)")
    if statement is not None:
        f, hit = statement
        how = [f"control.{hit.group} → {hit.kind}"]
        if hit.agent is not None:
            how.append(f"names {hit.agent.value}")
        elif hit.relative is not None:
            how.append(f"names the {'speaker' if hit.relative == 'own' else 'enemy'}'s side")
        elif hit.default is not None:
            how.append(f"wording implies {hit.default.value} (control.default_sides)")
        else:
            how.append("side from the claimant or the post")
        if hit.flip:
            how.append("the other side holds it")
        if hit.refuted:
            how.append("a capture the sentence denies")
        out["controller"] = Why("control", ", ".join(how), f.text[hit.span[0]:hit.span[1]], f.index)
    if claim.perpetrator is not None:
        out["perpetrator"] = next((f.why["perpetrator"] for f in ordered if f.perpetrator is claim.perpetrator
                                   and "perpetrator" in f.why), None) or next(
            (f.why["reported"] for f in ordered for _, accused, _ in f.reported if accused is claim.perpetrator
             and "reported" in f.why), Why("blame", "?"))
    if draft.injured is not None:
        out["injured_qualifier"] = draft.injured.qualifier_why or Why("counts", "exact (a figure given by a phrase)")
    out["claimant"] = _claimant_why(draft, claim, ordered, statement)
    if claim.date is not None:
        out["date"] = next((f.why["date"] for f in ordered if f.date == claim.date and "date" in f.why),
                           Why("dates", "no date in the text: the post's day"))
    return out


def explain_lines(claim: Claim, trace: dict[str, Why]) -> dict[str, str]:
    """The trace as text, field → "killed = 20  ← counts · lexicon.toll_verbs «зросла до 20» · sentence 0"."""
    values = claim.as_dict()
    return {name: f"{name} = {values[name]}  ← {trace[name].line()}" for name in EXPLAINED if name in trace}


def _claimant_why(draft: Draft, claim: Claim, ordered: Sequence[SentenceFacts], statement: Any) -> Why:
    label = claim.claimant or ""
    if not draft.claimant:
        return Why("assembly", "nobody credited: the source channel" if label else "nobody credited")
    base = label.removesuffix(" (earlier figure)")
    if base.startswith(("Russian side", "Ukrainian side")):
        if statement is not None:
            f, hit = statement
            return Why("control", f"the other side's claim (control.{hit.group}, reported or denied)",
                       f.text[hit.span[0]:hit.span[1]], f.index)
        return next((f.why["reported"] for f in ordered if f.reported and "reported" in f.why), Why("blame", "?"))
    found = next((f.why["claimant"] for f in ordered if f.claimant == base and "claimant" in f.why), None)
    if found is None and statement is not None:
        f, hit = statement  # the one named nearest the statement, as ControlReader credits it
        named = [(abs(k[2] - hit.pos) if g is f else 999 + abs(g.index - f.index), w) for g in ordered
                 for k, w in g.why.items() if isinstance(k, tuple) and k[0] == "speaker" and k[1] == base]
        found = min(named, key=lambda item: item[0])[1] if named else None
    if found is None and statement is not None:
        f, hit = statement
        found = Why("control", "official or body named next to the control phrase (officials.tsv / institutions.tsv)",
                    base, f.index)
    found = found or Why("assembly", "the claimant of an earlier sentence")
    if base != label:
        found = Why(found.component, found.rule + " · an earlier figure it quoted", found.words, found.sentence)
    return found


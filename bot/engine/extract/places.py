"""Places the sentence names and which of them is the event's (component claimwatch_places)."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from bot.engine.extract.facts import SentenceFacts
from bot.engine.gazetteer import PlaceMention
from bot.engine.text import Token
from bot.engine.types import Why

if TYPE_CHECKING:
    from bot.engine.pipeline import SentenceView


BANK_FORMS = frozenset({"берег", "берега", "берегу", "березі", "береге", "берегом", "береги", "берегів", "берегах", "берегов"})
SIDE_WORDS = frozenset({"left", "right", "east", "west", "eastern", "western", "northern", "southern"})


class PlaceRules:
    """Rules of ``Extractor`` (their word lists are its attributes)."""

    def read_places(self, view: SentenceView, facts: SentenceFacts, lang: str) -> None:
        self._find_places(facts, view.tokens, lang, view.index)

    def _find_places(self, facts: SentenceFacts, tokens: list[Token], lang: str, index: int) -> None:
        words = [t.text for t in tokens]
        mentions = self.gazetteer.find_mentions(words, lang)
        if lang == "uk" and any(t.is_capitalized and ("і" in t.lower or "є" in t.lower) for t in tokens):
            # a Russian town in Ukrainian spelling ("Шебекіно"): read it as Russian
            covered = {i for m in mentions for i in range(m.start, m.end)}
            russian = [w.replace("і", "и").replace("є", "е").replace("І", "И").replace("Є", "Е") for w in words]
            for m in self.gazetteer.find_mentions(russian, "ru"):
                if m.place.country == "RU" and m.via == "name" and not covered & set(range(m.start, m.end)):
                    mentions.append(m)
            mentions.sort(key=lambda m: m.start)
        if lang == "en":
            mentions = self._russian_romanized(tokens, mentions)
        named_towns = {m.place.key for m in mentions if m.via in ("name", "alias") and m.place.level != "oblast"}
        for mention in mentions:
            if mention.via == "adjective" and named_towns - {mention.place.key}:
                continue  # "Харківський університет у Сумах": an institution named after a city, in the town named
            if index == 0 and mention.start == 0 and tokens[0].text.isupper() and len(tokens) > 1 \
                    and tokens[1].text in ("—", "–", "-", ","):
                continue  # a dateline such as "LVIV — ..." names where the reporter is
            if mention.end - mention.start == 1 and mention.via == "name" and tokens[mention.start].is_capitalized \
                    and self._official(tokens[mention.start]) is not None \
                    and not (mention.start > 0 and tokens[mention.start - 1].lower in (
                        "в", "у", "во", "на", "під", "под", "біля", "возле", "около", "из", "з", "із", "від", "от", "до",
                        "in", "near", "from", "село", "селі", "села", "селе", "поселок", "селище", "village")):
                continue  # an official's surname that is also a village ("предложение Суровикина")
            if self._speaker_location(tokens, mention.start, mention.end):
                continue  # "заявили в Москве", "Kyiv said": where a statement came from, not an event
            if mention.end - mention.start == 1 and self._river_bank(tokens, mention.start, mention.end):
                continue  # "the right bank of the Dnipro", "лівий берег Дніпра": a river, not the city
            if mention.end - mention.start == 1 and mention.via == "name" and mention.end < len(tokens) \
                    and self._is_name(tokens[mention.end]) \
                    and not any(p.start == mention.end for p in mentions) \
                    and not self._control.named_town(tokens, mention.start) \
                    and not (mention.end + 1 < len(tokens) and re.fullmatch(
                        r"област\w*|област|народн\w*|oblast|region|республік\w*|республик\w*", tokens[mention.end + 1].lower)):
                continue  # a first name before a surname: "Александра Лапина", "Lyubov Odesa"
            if self._not_event_place(tokens, mention.start, mention.end, mention.via):
                if self._role_place(tokens, mention.start, mention.end):
                    facts.role_places.append((mention.start, mention.place))
                    facts.why.setdefault(("role_place", mention.place.key), Why(
                        "places", f"gazetteer ({mention.via}): the office's place (lexicon.role_words)", mention.surface, index))
                continue
            place = mention.place
            if any(t.is_word and self._near.fullmatch(t.lower) for t in tokens[max(0, mention.start - 3):mention.start]):
                facts.near_keys.add(place.key)
            if place.country == "RU" and place.oblast not in self._near_regions:
                # a far Russian namesake of a Ukrainian town ("Дзержинск" = Toretsk in war news)
                place = next((p for p in mention.candidates if p.country == "UA" and p.level != "oblast"), place)
            if place.level == "oblast":
                facts.oblast_places.append((mention.start, place))
            else:
                facts.places.append((mention.start, place))
            facts.why.setdefault(("place", place.key), Why(
                "places", f"gazetteer ({mention.via}{', a Ukrainian namesake' if place is not mention.place else ''})",
                mention.surface, index))

    def _russian_romanized(self, tokens: list[Token], mentions: list[Any]) -> list[Any]:
        """A Ukrainian village written in English from its Russian name ("the village of Sergeevka"):
        read back into Cyrillic when a settlement word comes right before it."""
        covered = {i for m in mentions for i in range(m.start, m.end)}
        extra = []
        for pos, tok in enumerate(tokens):
            if pos in covered or not tok.is_capitalized or pos == 0 or not tok.text.isascii():
                continue
            before = [t.lower for t in tokens[max(0, pos - 2):pos] if t.is_word]
            if not any(w in self._settlement_en for w in before):
                continue
            word, out = tok.lower, ""
            while word:
                for latin, cyrillic in self._latin_ru:
                    if word.startswith(latin):
                        out, word = out + cyrillic, word[len(latin):]
                        break
                else:
                    word = word[1:]
            towns = [p for p in self.gazetteer.lookup(out.capitalize(), "ru") if p.country == "UA" and p.level != "oblast"]
            regions = {m.place.oblast for m in mentions if m.place.level == "oblast"}
            towns = [p for p in towns if p.oblast in regions] or (towns if len({p.oblast for p in towns}) == 1 else [])
            if towns:
                extra.append(PlaceMention(pos, pos + 1, tok.text, tuple(towns), "alias"))
        return sorted(mentions + extra, key=lambda m: m.start)

    def _not_event_place(self, tokens: list[Token], start: int, end: int, via: str) -> bool:
        """A place word that does not say where it happened: a street ("улица Щорса"), the office in a
        title ("губернатор Белгородской области", "Kyiv Mayor", "глава Чечни"), where someone was
        ("находился в селе Муром", "a press conference in Antalya"), "столицю Росія вбила"."""
        before = [t for t in tokens[max(0, start - 3):start] if t.is_word]
        if before and self._street.fullmatch(before[-1].lower):
            return True
        if self._role_place(tokens, start, end):
            return True
        if any(self._presence.fullmatch(t.lower) for t in tokens[max(0, start - 4):start] if t.is_word):
            return True
        at = end
        if at < len(tokens) and tokens[at].text == "(":  # "Lugansk (Luhansk) People's Republic"
            at = next((i + 1 for i in range(at, min(len(tokens), at + 5)) if tokens[i].text == ")"), at)
        after = [t.lower for t in tokens[at:at + 4] if t.is_word]
        if after and (after[0] in ("people", "people's") or after[0].startswith("народн")) \
                and any(w.startswith(("republic", "республик", "республік")) for w in after):
            return True  # "Донецкой Народной Республики", "Lugansk (Luhansk) People's Republic": a region
        last = tokens[end - 1].lower if end - 1 < len(tokens) else ""
        return via == "capital" and last in ("росія", "россия", "україна", "украина", "russia", "ukraine")

    def _role_place(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t for t in tokens[max(0, start - 3):start] if t.is_word]
        after = list(itertools.takewhile(lambda t: t.is_word, tokens[end:end + 2]))  # "In Kyiv, Mayor X said": not his title
        if any(self._role.fullmatch(t.lower) for t in before) and not any(self._is_cue(t.lower) for t in before):
            return True
        if before and before[-1].lower in ("в", "у", "во", "на", "під", "под", "біля", "возле", "около", "от", "від", "з",
                                           "із", "из", "с", "до", "к", "за", "near", "from"):
            return False  # "обвинил в поражении в Лимане командующего": where, not whose office
        if end < len(tokens) and tokens[end].text in ("—", "–", "-", ",", ":"):
            return False  # "отошли от Великой Новоселки – спикер ...": the credit, not an office of the town
        return bool(after) and (self._role.fullmatch(after[0].lower) is not None or (
            after[0].lower in ("oblast", "regional", "region", "city") and len(after) > 1
            and self._role.fullmatch(after[1].lower) is not None))

    def _speaker_location(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t for t in tokens[max(0, start - 2):start]]
        if len(before) == 2 and before[1].lower in ("в", "у", "in", "from", "из", "з", "із") \
                and self._attribution.fullmatch(before[0].lower):
            return True
        after = tokens[end] if end < len(tokens) else None
        if after is not None and after.is_word and self._attribution.fullmatch(after.lower) \
                and not any(t.lower in ("in", "в", "у", "во") for t in tokens[max(0, start - 2):start]):
            return True  # "Kyiv said" (its government); not "officials in Donetsk said" (where they are)
        if after is not None and after.is_capitalized and self._official(after) is not None:
            return True  # a first name before a known surname: "Volodymyr Zelensky"
        return after is not None and after.lower in self._river_words

    @staticmethod
    def _river_bank(tokens: list[Token], start: int, end: int) -> bool:
        """A name whose bank is meant ("the left bank of the Dnipro", "Dnipro's east bank",
        "правого берега Дніпра", "на левом берегу Днепра") names a river."""
        before = [t.lower for t in tokens[max(0, start - 3):start] if t.is_word]
        if before and before[-1] in BANK_FORMS:
            return True
        if before[-3:] in (["bank", "of", "the"], ["banks", "of", "the"]) or before[-2:] in (["bank", "of"], ["banks", "of"]):
            return True
        after = [t.lower for t in tokens[end:end + 4] if t.is_word or t.lower in ("'s", "’s")]
        if after[:1] in (["'s"], ["’s"]):
            after = after[1:]
        if after[:1] and after[0] in SIDE_WORDS:
            after = after[1:]
        return after[:1] in (["bank"], ["banks"])

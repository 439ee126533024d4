"""Write tests/data/pii_addresses_dev.jsonl: a DEVELOPMENT set of postal addresses in chat.

Independent of the other sets (its own street words, formats, templates and seed; Faker only
supplies surnames, first names and cities): how addresses are really typed in es/pt/de/en chat
and in public English PII benchmarks. House number before or after the street, street types
with their abbreviations (C/, Avda., Rua, R., Str., -straße, -weg, Rd, St, Ave, Blvd…), units,
floors and doors (2º izq., 3ºB, apto 45, Whg. 3, Apt 4B, Suite 200, Flat 2), postcodes of the
eight locales (UK, US ZIP+4, PT 1234-567, BR 01234-567), city and state, PO boxes, lower case
and missing accents, addresses with and without a cue word, one-line and multi-line.

Every address span carries ``parts`` (``street``, ``number``, ``unit``, ``postcode``, ``city``,
``state``, ``pobox``; offsets in the message) so leaks can be read per part
(``bench/redaction_addresses.py``). PII-free messages hold look-alikes that must survive
(floors, rooms, durations, "a 10 minute walk", quantities).

    uv run python tests/data/pii_make_addresses_dev.py
"""

from __future__ import annotations

import random
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faker import Faker

OUT = Path(__file__).with_name("pii_addresses_dev.jsonl")
SEED = 77_2026_12
COUNT = 1100
rng = random.Random(SEED)

LOCALES = ("es_ES", "es_MX", "pt_BR", "pt_PT", "de_DE", "de_AT", "en_US", "en_GB")
LANG = {loc: loc[:2] for loc in LOCALES}
FAKERS = {loc: Faker(loc) for loc in LOCALES}
for _i, _fk in enumerate(FAKERS.values()):
    _fk.seed_instance(SEED + _i)

Part = tuple[str, str]  # (part name, text); ("", text) is glue


def pick(seq: list[str] | tuple[str, ...]) -> str:
    return seq[rng.randrange(len(seq))]


def chance(p: float) -> bool:
    return rng.random() < p


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


# --- street names ---------------------------------------------------------------------------

ES_NAMES = ["Mayor", "Real", "del Sol", "de la Paz", "Nueva", "Ancha", "del Carmen", "San Juan",
            "Santa Ana", "de Alcalá", "Gran Vía", "de los Olivos", "del Mar", "Colón", "Príncipe",
            "de la Constitución", "de Andalucía", "Reforma", "Insurgentes Sur", "Juárez", "Hidalgo",
            "Morelos", "5 de Mayo", "de las Flores"]  # fmt: skip
PT_NAMES = ["das Flores", "Augusta", "da Liberdade", "do Comércio", "Sete de Setembro", "Direita",
            "de Santa Catarina", "dos Andradas", "XV de Novembro", "da Consolação", "Boa Vista",
            "do Ouvidor", "Paulista", "Brasil", "da República", "de São Bento", "das Palmeiras"]  # fmt: skip
DE_STEMS = ["Haupt", "Bahnhof", "Linden", "Schiller", "Goethe", "Kirch", "Garten", "Berg", "Wald",
            "Mozart", "Rosen", "Birken", "Schloss", "Markt", "Dorf", "Mühl", "Sonnen", "Eichen",
            "Bismarck", "Friedrich", "Kaiser", "Wiener", "Grazer", "Landstraßer Haupt"]  # fmt: skip
DE_SUFFIXES = ["straße", "strasse", "str.", "weg", "gasse", "allee", "platz", "ring", "damm", "ufer"]
EN_NAMES = ["Main", "Oak", "Maple", "Cedar", "Elm", "Park", "Washington", "Lake", "Hill", "Church",
            "High", "Station", "Mill", "King", "Queen", "Victoria", "Baker", "Pine", "Sunset",
            "Lincoln", "Jackson", "Walnut", "Chestnut", "Willow", "Highland", "Meadow", "N Broad",
            "W 34th", "E 5th", "Old Farm", "Green"]  # fmt: skip
EN_TYPES = ["Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Rd.", "Boulevard", "Blvd",
            "Blvd.", "Lane", "Ln", "Drive", "Dr", "Dr.", "Court", "Ct", "Place", "Pl", "Terrace",
            "Way", "Close", "Crescent", "Circle", "Parkway", "Highway", "Square", "Gardens", "Row",
            "Mews", "Grove", "Trail", "Pkwy", "Hwy"]  # fmt: skip
ES_TYPES = ["Calle", "C/", "c/", "Avenida", "Avda.", "Av.", "Paseo", "Pº", "Plaza", "Pza.", "Ronda",
            "Camino", "Carretera", "Ctra.", "Travesía", "Calzada", "Callejón", "Privada", "Cerrada",
            "Boulevard", "Prolongación"]  # fmt: skip
PT_TYPES = ["Rua", "R.", "Avenida", "Av.", "Travessa", "Tv.", "Praça", "Largo", "Estrada", "Alameda",
            "Rodovia", "Beco", "Calçada", "Praceta"]  # fmt: skip
US_STATES = ["CA", "TX", "NY", "FL", "IL", "WA", "MA", "GA", "OH", "NC", "AZ", "CO", "OR", "NV", "PA"]
US_STATE_NAMES = ["California", "Texas", "New York", "Florida", "Illinois", "Ohio", "Oregon"]
BR_STATES = ["SP", "RJ", "MG", "BA", "PR", "RS", "PE", "CE", "SC", "DF"]
MX_STATES = ["CDMX", "Jal.", "N.L.", "Puebla", "Yucatán", "Edo. Méx.", "Qro."]
MX_COLONIAS = ["Roma Norte", "Condesa", "Del Valle", "Centro", "Polanco", "Narvarte", "Juárez",
               "Las Águilas", "San Rafael"]  # fmt: skip
BR_BAIRROS = ["Centro", "Bela Vista", "Copacabana", "Savassi", "Moema", "Pinheiros", "Boa Viagem"]
UK_AREAS = ["SW1A", "NW1", "EC1V", "M1", "B33", "LS1", "OX1", "CR2", "W1D", "E14", "G2", "EH1", "BS8"]


def person_street(loc: str) -> str:
    fk = FAKERS[loc]
    if loc.startswith(("es", "pt")):
        return pick([f"{fk.first_name()} {fk.last_name()}", fk.last_name(), f"de {fk.last_name()}"])
    if loc.startswith("de"):
        return fk.last_name()
    return fk.last_name()


def city(loc: str) -> str:
    return FAKERS[loc].city()


# --- postcodes -------------------------------------------------------------------------------


def digits(n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def postcode(loc: str) -> str:
    if loc in ("es_ES", "es_MX", "de_DE"):
        return f"{rng.randrange(1, 53):02d}{digits(3)}"
    if loc == "de_AT":
        return f"{rng.randrange(1, 10)}{digits(3)}"
    if loc == "pt_PT":
        return f"{rng.randrange(1, 10)}{digits(3)}-{digits(3)}"
    if loc == "pt_BR":
        return pick(
            [f"{digits(5)}-{digits(3)}", f"{digits(5)}{digits(3)}", f"{digits(2)}.{digits(3)}-{digits(3)}"]
        )
    if loc == "en_US":
        return f"{digits(5)}-{digits(4)}" if chance(0.3) else digits(5)
    area = pick(UK_AREAS)
    inward = f"{rng.randrange(10)}{pick('ABDEFGHJLNPQRSTUWXYZ')}{pick('ABDEFGHJLNPQRSTUWXYZ')}"
    return f"{area} {inward}" if chance(0.85) else f"{area}{inward}"


# --- units -----------------------------------------------------------------------------------


def unit(loc: str) -> str:
    n = str(rng.randrange(1, 30))
    letter = pick("ABCDEF")
    if loc == "es_ES":
        return pick([f"{rng.randrange(1, 9)}º {pick(['izq.', 'izda.', 'dcha.', 'dcha', 'A', 'B', 'C'])}",
                     f"{rng.randrange(1, 9)}º{letter}", f"{rng.randrange(1, 9)}ª planta", "bajo", "ático",
                     f"piso {rng.randrange(1, 9)} puerta {rng.randrange(1, 6)}", f"esc. {letter}, {rng.randrange(1, 9)}º",
                     f"{rng.randrange(1, 9)}-{letter}", f"portal {rng.randrange(1, 5)}, {rng.randrange(1, 9)}º {letter}"])  # fmt: skip
    if loc == "es_MX":
        return pick([f"Int. {n}", f"int {n}", f"Depto. {n}{letter}", f"depto {n}", f"Edif. {letter} Depto. {n}",
                     f"Piso {rng.randrange(1, 9)}", f"Mz. {n} Lt. {rng.randrange(1, 40)}"])  # fmt: skip
    if loc == "pt_BR":
        return pick([f"apto {n}{rng.randrange(10)}", f"ap. {n}", f"apt {n}{rng.randrange(10)}", f"Bloco {letter}, apto {n}",
                     f"casa {rng.randrange(1, 5)}", f"sala {n}{rng.randrange(10)}", f"loja {n}", f"{n}º andar"])  # fmt: skip
    if loc == "pt_PT":
        return pick([f"{rng.randrange(1, 9)}º Esq.", f"{rng.randrange(1, 9)}º Dto.", f"{rng.randrange(1, 9)}º esq",
                     f"r/c {pick(['esq', 'dto', 'Esq.'])}", f"{rng.randrange(1, 9)}.º {letter}", f"{rng.randrange(1, 9)}º andar",
                     f"fração {letter}"])  # fmt: skip
    if loc == "de_DE":
        return pick([f"Whg. {n}", f"Wohnung {n}", f"{rng.randrange(1, 6)}. OG", f"{rng.randrange(1, 6)}. Stock",
                     "EG links", f"{rng.randrange(1, 5)}. Etage rechts", f"Hinterhaus, {rng.randrange(1, 5)}. OG", f"App. {n}"])  # fmt: skip
    if loc == "de_AT":
        return pick(
            [f"Top {n}", f"Stiege {rng.randrange(1, 5)}, Top {n}", f"Tür {n}", f"/{rng.randrange(1, 9)}/{n}"]
        )
    if loc == "en_US":
        return pick([f"Apt {n}{letter}", f"Apt. {n}", f"apt {n}", f"Suite {rng.randrange(100, 999)}", f"Ste {rng.randrange(100, 999)}",
                     f"Unit {n}", f"#{rng.randrange(100, 999)}", f"Fl {rng.randrange(2, 20)}", f"Bldg {letter}", f"Room {rng.randrange(100, 500)}"])  # fmt: skip
    return pick(
        [f"Flat {n}", f"Flat {n}{letter}", f"Apartment {n}", f"Unit {n}", f"Suite {n}", f"Studio {n}"]
    )


# --- one address as parts ---------------------------------------------------------------------


def number(loc: str) -> str:
    n = rng.randrange(1, 300 if not loc.startswith("en") else 9999)
    if loc.startswith("en"):
        return pick([str(n), str(n), f"{n}{pick('ab')}" if chance(0.2) else str(n), f"{n}-{n + 2}"])
    if loc.startswith("de"):
        return pick([str(n), str(n), f"{n}a", f"{n} b", f"{n}-{n + 2}"])
    if loc == "es_ES":
        return pick([str(n), str(n), f"nº {n}", f"n.º {n}", "s/n", f"{n}-{n + 2}"])
    if loc == "es_MX":
        return pick([str(n), f"#{n}", f"No. {n}", f"núm. {n}", "S/N", f"{n} Ext"])
    if loc == "pt_PT":
        return pick([str(n), str(n), f"n.º {n}", f"nº {n}", f"{n}{pick('AB')}"])
    return pick([str(n), str(n), f"nº {n}", f"{n}{pick('AB')}", "s/n"])


def street_romance(loc: str) -> str:
    types, names = (ES_TYPES, ES_NAMES) if loc.startswith("es") else (PT_TYPES, PT_NAMES)
    name = pick(names) if chance(0.5) else person_street(loc)
    return f"{pick(types)} {name}"


def street_de(loc: str) -> str:
    roll = rng.random()
    if roll < 0.55:
        stem = pick(DE_STEMS) if chance(0.6) else FAKERS[loc].last_name()
        suffix = pick(DE_SUFFIXES)
        return f"{stem}{suffix}"
    if roll < 0.7:
        a, b = FAKERS[loc].first_name(), FAKERS[loc].last_name()
        return f"{a}-{b}-{pick(['Straße', 'Str.', 'Allee', 'Platz', 'Weg', 'Ring'])}"
    if roll < 0.85:
        return f"{pick(['Berliner', 'Münchner', 'Alte', 'Neue', 'Hamburger', 'Linzer'])} {pick(['Straße', 'Str.', 'Allee', 'Weg', 'Gasse'])}"
    return f"{pick(['Am', 'An der', 'Im', 'Auf dem', 'Zum', 'Unter den'])} {pick(['Markt', 'Linden', 'Anger', 'Mühlbach', 'Sonnenhang', 'Kirchberg', 'Graben'])}"


def street_en(loc: str) -> str:
    name = pick(EN_NAMES) if chance(0.6) else FAKERS[loc].last_name()
    street = f"{name} {pick(EN_TYPES)}"
    if loc == "en_US" and chance(0.12):
        street += f" {pick(['NW', 'NE', 'SW', 'SE', 'N', 'S'])}"
    return street


def address(loc: str) -> list[Part]:
    """One address as labelled parts joined by glue."""
    parts: list[Part] = []
    if chance(0.06):
        return pobox(loc)
    if chance(0.07):  # a street named without its number ("I live on Maple Street")
        street = {"es": street_romance, "pt": street_romance, "de": street_de, "en": street_en}[LANG[loc]](
            loc
        )
        return [("street", street)]
    if loc.startswith(("es", "pt")):
        parts += [("street", street_romance(loc)), ("", pick([" ", ", ", " "])), ("number", number(loc))]
        if chance(0.45):
            parts += [("", pick([", ", " ", " - "])), ("unit", unit(loc))]
        if loc == "es_MX" and chance(0.5):
            parts += [("", ", "), ("city", f"{pick(['Col.', 'Colonia', 'col'])} {pick(MX_COLONIAS)}")]
        if loc == "pt_BR" and chance(0.4):
            parts += [("", pick([" - ", ", "])), ("city", pick(BR_BAIRROS))]
    elif loc.startswith("de"):
        parts += [("street", street_de(loc)), ("", " "), ("number", number(loc))]
        if chance(0.3):
            u = unit(loc)
            parts += [("", "" if u.startswith("/") else ", "), ("unit", u)]
    else:
        if loc == "en_GB" and chance(0.3):
            parts += [("unit", unit(loc)), ("", pick([", ", " "]))]
        parts += [("number", number(loc)), ("", " "), ("street", street_en(loc))]
        if loc == "en_US" and chance(0.4):
            parts += [("", pick([", ", " "])), ("unit", unit(loc))]
    return parts + tail(loc)


def tail(loc: str) -> list[Part]:
    """Postcode, city and state in the locale's order, or nothing (street only)."""
    roll = rng.random()
    if roll < 0.25:
        return []
    pc, town = postcode(loc), city(loc)
    sep = pick([", ", ", ", " ", "\n"]) if roll > 0.3 else ", "
    if loc == "en_US":
        state = pick(US_STATES) if chance(0.8) else pick(US_STATE_NAMES)
        if roll < 0.4:
            return [("", sep), ("city", town)]
        return [
            ("", sep),
            ("city", town),
            ("", pick([", ", " "])),
            ("state", state),
            ("", " "),
            ("postcode", pc),
        ]
    if loc == "en_GB":
        if roll < 0.45:
            return [("", sep), ("city", town)]
        return [("", sep), ("city", town), ("", pick([" ", ", "])), ("postcode", pc)]
    if loc == "pt_BR":
        state = pick(BR_STATES)
        return pick(
            [
                [("", sep), ("city", town), ("", pick([" - ", "/", " "])), ("state", state), ("", ", "),
                 ("postcode", pick(["CEP ", "cep ", ""]) + pc)],
                [("", sep), ("postcode", pick(["CEP ", "CEP: ", ""]) + pc), ("", pick([", ", " "])), ("city", town)],
                [("", sep), ("city", town)],
            ]
        )  # fmt: skip
    if loc == "es_MX":
        return pick(
            [
                [("", sep), ("postcode", pick(["C.P. ", "CP ", "c.p. ", ""]) + pc), ("", " "), ("city", town),
                 ("", ", "), ("state", pick(MX_STATES))],
                [("", sep), ("city", town), ("", ", "), ("postcode", pick(["C.P. ", "CP "]) + pc)],
            ]
        )  # fmt: skip
    if chance(0.15):
        return [("", sep), ("city", town)]
    if chance(0.12) and not loc.startswith("de"):
        return [("", sep), ("city", town), ("", " ("), ("postcode", pc), ("", ")")]
    label = {"de_DE": ["", "", "D-", "PLZ "], "de_AT": ["", "", "A-"], "es_ES": ["", "", "CP "],
             "pt_PT": ["", ""]}[loc]  # fmt: skip
    return [("", sep), ("postcode", pick(label) + pc), ("", " "), ("city", town)]


def pobox(loc: str) -> list[Part]:
    n = digits(rng.randrange(2, 6))
    word = {
        "es_ES": ["Apartado de Correos", "Apdo.", "apartado"],
        "es_MX": ["Apartado Postal", "A.P."],
        "pt_BR": ["Caixa Postal", "Cx. Postal", "caixa postal"],
        "pt_PT": ["Apartado", "Apartado"],
        "de_DE": ["Postfach"],
        "de_AT": ["Postfach"],
        "en_US": ["PO Box", "P.O. Box", "p.o. box", "POB", "Post Office Box"],
        "en_GB": ["PO Box", "P.O. Box"],
    }[loc]
    parts: list[Part] = [("pobox", f"{pick(word)} {n}")]
    return parts + tail(loc)[:4]


# --- messages --------------------------------------------------------------------------------

CUED = {
    "es": ["mi dirección es {A}", "vivo en {A}", "estoy en {A}", "envíenlo a {A} porfa", "dirección de entrega: {A}",
           "podéis venir a {A}?", "la tienda nueva está en {A}", "me mudé a {A}", "domicilio {A}",
           "factura a nombre de la empresa, {A}", "dejadlo en {A}, gracias"],
    "pt": ["moro na {A}", "meu endereço: {A}", "entrega em {A}", "fica na {A}", "endereço pra entrega {A}",
           "mudei pra {A}", "morada: {A}", "podem entregar na {A}?"],
    "de": ["ich wohne in der {A}", "Adresse: {A}", "Lieferung an {A} bitte", "meine neue Anschrift ist {A}",
           "wir sind in der {A}", "Rechnungsadresse {A}", "bitte an {A} schicken"],
    "en": ["I live at {A}", "I live on {A}", "my address is {A}", "ship to {A}", "send it to {A} thanks", "we moved to {A} last month",
           "billing address: {A}", "Address: {A}", "deliver to {A} please", "I'm staying at {A} this week",
           "the office is at {A}", "mail it to {A}"],
}  # fmt: skip
BARE = {
    "es": ["{A}", "{A} gracias", "ok {A}", "{A}, timbre roto, llamad al móvil"],
    "pt": ["{A}", "{A} obrigada", "ok, {A}"],
    "de": ["{A}", "{A} danke", "ok {A}"],
    "en": ["{A}", "{A} thx", "ok {A}", "it's {A}", "{A} - ring twice"],
}
NEGATIVE = {
    "es": ["estamos en la 2ª planta, al lado del ascensor", "la consulta 3 está al fondo", "son 10 minutos andando",
           "mesa para 4 a las 21:00", "tenéis parking en la calle?", "cuánto cuesta el corte? 25 €",
           "vengo en el bus 27", "el piso de arriba hace ruido", "quedamos en la plaza a las 18:30",
           "dura 45 minutos?", "tengo 2 perros y 1 gato", "el local de la avenida abre el lunes?"],
    "pt": ["fica no 3º andar?", "são 15 minutos a pé", "mesa para 6 às 20h", "tem estacionamento na rua?",
           "quanto custa? R$ 80?", "a sala 2 está livre amanhã?", "demora 1 hora?", "a loja da avenida abre domingo?"],
    "de": ["wir sind im 2. Stock", "Termin um 14 Uhr frei?", "10 Minuten zu Fuß vom Bahnhof", "Tisch für 4 um 19:30",
           "gibt es Parkplätze in der Straße?", "kostet 35 € oder?", "Raum 3 ist frei?", "dauert 2 Stunden?"],
    "en": ["we're on the 2nd floor", "it's a 10 minute walk from the station", "table for 4 at 7pm",
           "is there parking on the street?", "is the suite free on Friday?", "room 12 please", "do you deliver to the city centre?",
           "take exit 23 off the highway", "it takes 2 hours", "I need 3 boxes of the blue ones", "the main road is closed",
           "is unit 4 available?", "meet me at gate 5", "can I park on Main Street?", "see you at 10:30 am"],
}  # fmt: skip


def render(template: str, parts: list[Part]) -> tuple[str, dict[str, Any]]:
    before, after = template.split("{A}")
    text, part_spans = before, []
    for name, piece in parts:
        if name:
            part_spans.append({"part": name, "start": len(text), "end": len(text) + len(piece)})
        text += piece
    span = {"type": "STREET_ADDRESS", "start": len(before), "end": len(text), "parts": part_spans}
    return text + after, span


def variant(parts: list[Part], text_case: Callable[[str], str]) -> list[Part]:
    return [(name, text_case(piece)) for name, piece in parts]


def build() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for i in range(COUNT):
        loc = LOCALES[i % len(LOCALES)]
        lang = LANG[loc]
        if chance(0.18):
            text = pick(NEGATIVE[lang])
            records.append({"id": len(records), "lang": lang, "locale": loc, "text": text, "spans": [],
                            "keep": keep_spans(text), "known_names": [], "pii_free": True})  # fmt: skip
            continue
        parts = address(loc)
        roll = rng.random()
        if roll < 0.15:
            parts = variant(parts, str.lower)
        elif roll < 0.25:
            parts = variant(parts, lambda s: strip_accents(s).lower())
        elif roll < 0.3:
            parts = variant(parts, strip_accents)
        template = pick(CUED[lang]) if chance(0.65) else pick(BARE[lang])
        if roll < 0.25:
            template = template.lower().replace("{a}", "{A}")
        text, span = render(template, parts)
        records.append({"id": len(records), "lang": lang, "locale": loc, "text": text, "spans": [span],
                        "keep": [], "known_names": [], "pii_free": False})  # fmt: skip
    return records


_KEEP_WORDS = ("2ª planta", "3º andar", "2. Stock", "2nd floor", "10 minutos", "15 minutos", "10 Minuten",
               "10 minute", "21:00", "20h", "14 Uhr", "19:30", "7pm", "25 €", "R$ 80", "35 €", "45 minutos",
               "1 hora", "2 Stunden", "2 hours", "18:30", "10:30 am", "exit 23", "gate 5", "room 12",
               "Raum 3", "sala 2", "consulta 3", "bus 27", "unit 4", "3 boxes", "2 perros", "1 gato",
               "mesa para 4", "mesa para 6", "Tisch für 4", "table for 4")  # fmt: skip


def keep_spans(text: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for word in _KEEP_WORDS:
        at = text.find(word)
        if at >= 0:
            spans.append({"type": "keep", "start": at, "end": at + len(word)})
    return spans


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from pii_jsonl import write_jsonl

    write_jsonl(OUT, build())


if __name__ == "__main__":
    main()

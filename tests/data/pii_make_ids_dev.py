"""Write tests/data/pii_ids_dev.jsonl: a DEVELOPMENT set of identity-document numbers in chat.

Independent of the other sets (own formats, templates and seed): German identity cards
(Personalausweis, 9 characters of the ICAO alphabet plus a check digit, with or without the
``D``), Spanish DNI and NIE, and passports of the eight locales and the US. Each value appears
as typed in chat: upper or lower case, grouped by spaces, dots or dashes, with a wrong check
digit or letter (a typo), with and without a cue word. PII-free messages hold what must survive
(quantities, sizes, times, booking codes of the tenant's own form such as "mesa 12B").

    uv run python tests/data/pii_make_ids_dev.py
"""

from __future__ import annotations

import random
import string
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("pii_ids_dev.jsonl")
SEED = 5_0512_2026
COUNT = 900
rng = random.Random(SEED)

ICAO = "CFGHJKLMNPRTVWXYZ"  # letters of German document numbers
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def digits(n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def icao_digit(value: str) -> str:
    total = 0
    for i, ch in enumerate(value):
        v = int(ch) if ch.isdigit() else ord(ch) - 55
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


def typo(value: str) -> str:
    """One character changed or two neighbours swapped (a half-remembered number)."""
    chars = list(value)
    spots = [i for i, c in enumerate(chars) if c.isalnum()]
    i = rng.choice(spots)
    if rng.random() < 0.5 and i + 1 < len(chars) and chars[i + 1].isalnum():
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif chars[i].isdigit():
        chars[i] = str((int(chars[i]) + rng.randrange(1, 10)) % 10)
    else:
        chars[i] = rng.choice(string.ascii_uppercase)
    return "".join(chars)


def de_perso() -> str:
    body = rng.choice(ICAO) + "".join(rng.choice(ICAO + string.digits) for _ in range(8))
    value = body + icao_digit(body)
    return value + ("D" if rng.random() < 0.2 else "")


def de_passport() -> str:
    body = "C" + "".join(rng.choice(ICAO + string.digits) for _ in range(8))
    return body + (icao_digit(body) if rng.random() < 0.5 else "")


def es_dni() -> str:
    number = rng.randrange(100_000, 99_999_999)
    return f"{number:08d}{DNI_LETTERS[number % 23]}"


def es_nie() -> str:
    prefix = rng.choice("XYZ")
    number = int(str("XYZ".index(prefix)) + digits(7))
    return f"{prefix}{str(number)[1:].zfill(7)}{DNI_LETTERS[number % 23]}"


PASSPORTS = {
    "es_ES": lambda: rng.choice(["PA", "AA", "XD", "PAA", "AAB"]) + digits(6),
    "es_MX": lambda: rng.choice("GNP") + digits(8),
    "pt_BR": lambda: rng.choice(["FZ", "YB", "GA", "FG"]) + digits(6),
    "pt_PT": lambda: rng.choice("CNPL") + digits(6),
    "de_DE": de_passport,
    "de_AT": lambda: rng.choice("PUS") + digits(7),
    "en_US": lambda: rng.choice(["", "A", "C", "E"]) + digits(9 if rng.random() < 0.5 else 8),
    "en_GB": lambda: digits(9) + ("GBR" if rng.random() < 0.15 else ""),
}
LANG = {
    "es_ES": "es",
    "es_MX": "es",
    "pt_BR": "pt",
    "pt_PT": "pt",
    "de_DE": "de",
    "de_AT": "de",
    "en_US": "en",
}
LANG["en_GB"] = "en"


def styled(value: str) -> str:
    """How a customer types it: grouping, case, a typo."""
    roll = rng.random()
    if roll < 0.15:
        value = value.lower()
    elif roll < 0.2:
        value = value[0].lower() + value[1:]
    if rng.random() < 0.15:
        value = typo(value)
    roll = rng.random()
    if roll < 0.12:
        cut = rng.randrange(2, len(value) - 1)
        value = f"{value[:cut]} {value[cut:]}"
    elif roll < 0.2:
        value = " ".join(value[i : i + 3] for i in range(0, len(value), 3))
    elif roll < 0.27 and value[-1].isalpha() and value[-2].isdigit():
        value = f"{value[:-1]}{rng.choice(['-', ' ', ' - ', '.'])}{value[-1]}"
    elif roll < 0.32 and len(value) >= 9 and value[:8].isdigit():
        value = f"{value[:2]}.{value[2:5]}.{value[5:8]}{rng.choice(['-', ''])}{value[8:]}"
    return value


CUES = {
    "DE_PERSO": ["Ausweisnummer {V}", "Personalausweis: {V}", "Perso-Nr. {V}", "meine Ausweis-Nr ist {V}",
                 "Ausweis {V} bitte notieren", "ID card {V}", "{V}", "Nr. des Personalausweises {V}"],
    "ES_DNI": ["mi DNI es {V}", "DNI: {V}", "dni {V} gracias", "con DNI {V}", "NIF {V}", "{V}",
               "documento {V}", "el dni de mi madre es {V}"],
    "ES_NIE": ["mi NIE es {V}", "NIE: {V}", "nie {V}", "tarjeta de residencia {V}", "{V}", "documento {V} porfa"],
    "PASSPORT": {
        "es": ["pasaporte: {V}", "mi pasaporte es {V}", "nº de pasaporte {V}", "pasaporte {V} caduca en 2031", "{V}"],
        "pt": ["passaporte: {V}", "número do passaporte {V}", "meu passaporte é {V}", "{V}"],
        "de": ["Reisepass Nr. {V}", "Passnummer: {V}", "mein Pass {V}", "{V}"],
        "en": ["passport {V}", "my passport number is {V}", "passport no. {V}, expires 2030", "Passport #: {V}",
               "{V}", "pp no {V}"],
    },
}  # fmt: skip
NEGATIVE = [
    ("mesa para 4 a las 21:30", ["4", "21:30"]),
    ("quiero 2x 250ml del champú", ["2x", "250ml"]),
    ("Termin um 14:30, Raum 2B", ["14:30", "2B"]),
    ("the A4 prints cost $12", ["A4", "$12"]),
    ("room 12B at 3pm", ["12B", "3pm"]),
    ("llego en 5min", ["5min"]),
    ("preciso de 3 unidades de 500g", ["500g"]),
    ("kann ich um 10 Uhr kommen? 45 Minuten", ["10 Uhr", "45 Minuten"]),
    ("do you have size 38 or 40?", ["38", "40"]),
    ("table for 6 at 8:15pm", ["6", "8:15pm"]),
    ("custa R$ 120,00?", ["R$ 120,00"]),
    ("a 2ª sessão dura 90 min", ["90 min"]),
    ("Kosten 49,90 € für 2 Personen", ["49,90 €", "2 Personen"]),
    ("vuelo IB3170 a las 18h", ["18h"]),
]


def build() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    locales = list(PASSPORTS)
    for _ in range(COUNT):
        if rng.random() < 0.15:
            text, keeps = rng.choice(NEGATIVE)
            keep = [{"type": "keep", "start": text.index(k), "end": text.index(k) + len(k)} for k in keeps]
            records.append({"id": len(records), "lang": "es", "locale": "es_ES", "text": text, "spans": [],
                            "keep": keep, "known_names": [], "pii_free": True})  # fmt: skip
            continue
        kind = rng.choice(["DE_PERSO", "DE_PERSO", "ES_DNI", "ES_NIE", "PASSPORT", "PASSPORT", "PASSPORT"])
        if kind == "PASSPORT":
            locale = rng.choice(locales)
            value, templates = PASSPORTS[locale](), CUES["PASSPORT"][LANG[locale]]
        else:
            locale = {"DE_PERSO": rng.choice(["de_DE", "de_AT"]), "ES_DNI": "es_ES", "ES_NIE": "es_ES"}[kind]
            value = {"DE_PERSO": de_perso, "ES_DNI": es_dni, "ES_NIE": es_nie}[kind]()
            templates = CUES[kind]
        assert isinstance(templates, list)
        template = rng.choice(templates)
        value = styled(value)
        before, after = template.split("{V}")
        text = before + value + after
        span = {"type": "NATIONAL_ID", "start": len(before), "end": len(before) + len(value), "id_kind": kind}
        records.append({"id": len(records), "lang": LANG[locale], "locale": locale, "text": text, "spans": [span],
                        "keep": [], "known_names": [], "pii_free": False})  # fmt: skip
    return records


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from pii_jsonl import write_jsonl

    write_jsonl(OUT, build())


if __name__ == "__main__":
    main()

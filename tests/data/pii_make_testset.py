"""Write tests/data/pii_testset.jsonl: the held-out TEST set of the redaction bench.

Generated independently of the development corpus (other templates, other generators, its own
seed): Faker in eight locales (es_ES, es_MX, pt_BR, pt_PT, de_DE, de_AT, en_US, en_GB) and its
ssn/rfc/curp/cpf/nif/nuss/rg providers, passports, dates of birth after birth cues, phones in
national formats (fictional ranges too), cards of every brand, IBANs, full addresses, names with
particles, titles and sign-offs, e-mails; typos, wrong check digits, lower case and missing
accents. PII-free messages carry prices, times, appointment dates, durations, quantities and
service words that are also surnames ("keep" spans, which must survive).

Nobody tunes on this file: the bench reports aggregate numbers only.

    uv run python tests/data/pii_make_testset.py [--seed N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faker import Faker
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10

OUT = Path(__file__).with_name("pii_testset.jsonl")
SEED = 1_739_204_518  # drawn once from os.urandom for this set; never reused by the dev generator

LOCALES = ("es_ES", "es_MX", "pt_BR", "pt_PT", "de_DE", "de_AT", "en_US", "en_GB")
LANG = {loc: loc[:2] for loc in LOCALES}


class Msg:
    """A message under construction: literal text, PII slots (gold spans) and keep slots."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict[str, Any]] = []
        self.keep: list[dict[str, Any]] = []

    def lit(self, piece: str) -> None:
        self.text += piece

    def pii(self, kind: str, value: str, **meta: Any) -> None:
        start = len(self.text)
        self.text += value
        self.spans.append({"type": kind, "start": start, "end": len(self.text), **meta})

    def keep_(self, kind: str, value: str) -> None:
        start = len(self.text)
        self.text += value
        self.keep.append({"type": kind, "start": start, "end": len(self.text)})


def strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch) or ch == "\u0303"
    ).replace("\u0303", "")


class Gen:
    """Value generators for one run (one ``random.Random`` and one Faker per locale)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fk = {loc: Faker(loc) for loc in LOCALES}
        for i, fk in enumerate(self.fk.values()):
            fk.seed_instance(seed + 7 * i)

    # --- helpers ---------------------------------------------------------------------
    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def maybe_wrong(self, value: str, p: float = 0.2) -> tuple[str, bool]:
        """Change the last digit with probability ``p`` (a typo or a half-remembered number)."""
        positions = [i for i, ch in enumerate(value) if ch.isdigit()]
        if not positions or self.rng.random() >= p:
            return value, False
        i = positions[-1]
        new = str((int(value[i]) + self.rng.randint(1, 9)) % 10)
        return value[:i] + new + value[i + 1 :], True

    def group(self, number: str, sizes: tuple[int, ...], sep: str) -> str:
        out, i = [], 0
        for size in sizes:
            if i >= len(number):
                break
            out.append(number[i : i + size])
            i += size
        if i < len(number):
            out.append(number[i:])
        return sep.join(out)

    # --- identifiers -----------------------------------------------------------------
    def phone(self, loc: str) -> str:
        r, d = self.rng, self.digits
        if r.random() < 0.25:
            return self.fk[loc].phone_number()
        forms: dict[str, list[Callable[[], str]]] = {
            "es_ES": [
                lambda: f"6{d(2)} {d(3)} {d(3)}",
                lambda: f"7{d(8)}",
                lambda: f"+34 6{d(2)} {d(2)} {d(2)} {d(2)}",
                lambda: f"0034 9{d(2)} {d(3)} {d(3)}",
                lambda: f"(+34) 6{d(2)}.{d(3)}.{d(3)}",
                lambda: f"9{d(2)}-{d(2)}-{d(2)}-{d(2)}",
            ],
            "es_MX": [
                lambda: f"55 {d(4)} {d(4)}",
                lambda: f"+52 1 55 {d(4)} {d(4)}",
                lambda: f"+521{r.choice(['33', '81', '55'])}{d(8)}",
                lambda: f"(33) {d(4)}-{d(4)}",
                lambda: f"044 55 {d(4)} {d(4)}",
                lambda: f"+52 (81) {d(4)} {d(4)}",
            ],
            "pt_BR": [
                lambda: f"(11) 9{d(4)}-{d(4)}",
                lambda: f"21 9{d(4)} {d(4)}",
                lambda: f"+55 (31) 9{d(4)}-{d(4)}",
                lambda: f"+55 11 3{d(3)}-{d(4)}",
                lambda: f"0{r.choice(['11', '21', '41'])} 3{d(3)}-{d(4)}",
                lambda: f"9{d(4)}-{d(4)}",
            ],
            "pt_PT": [
                lambda: f"9{r.choice('1236')}{d(1)} {d(3)} {d(3)}",
                lambda: f"+351 21 {d(3)} {d(4)}",
                lambda: f"9{r.choice('1236')}{d(7)}",
                lambda: f"00351 9{d(2)} {d(3)} {d(3)}",
                lambda: f"2{d(2)}.{d(3)}.{d(3)}",
            ],
            "de_DE": [
                lambda: f"01{r.choice(['51', '52', '57', '60', '70', '76'])}/{d(8)}",
                lambda: f"0176 {d(8)}",
                lambda: f"030 {d(7)}",
                lambda: f"+49 (0)30 {d(6)}-{d(2)}",
                lambda: f"0151.{d(4)}.{d(4)}",
                lambda: f"089/{d(2)} {d(2)} {d(2)}",
                lambda: f"+49 171 {d(7)}",
                lambda: f"(0221) {d(6)}",
            ],
            "de_AT": [
                lambda: f"0664/{d(7)}",
                lambda: f"+43 664 {d(7)}",
                lambda: f"01 {d(3)} {d(2)} {d(2)}",
                lambda: f"0676 {d(3)} {d(4)}",
                lambda: f"+43 (0)1 {d(7)}",
            ],
            "en_US": [
                lambda: f"({d(3)}) 555-{d(4)}",
                lambda: f"{r.choice(['212', '415', '646', '312'])}.{d(3)}.{d(4)}",
                lambda: f"{r.choice(['213', '917', '503'])}-{d(3)}-{d(4)} ext. {d(2)}",
                lambda: f"+1 {d(3)} {d(3)} {d(4)}",
                lambda: f"1-800-{d(3)}-{d(4)}",
                lambda: f"({d(3)}) {d(3)}-{d(4)} x{d(3)}",
            ],
            "en_GB": [
                lambda: f"07700 900{d(3)}",
                lambda: f"+44 7{d(3)} {d(6)}",
                lambda: f"020 7946 {d(4)}",
                lambda: f"(0161) 496 {d(4)}",
                lambda: f"+44 (0)20 {d(4)} {d(4)}",
                lambda: f"0117-{d(3)}-{d(4)}",
            ],
        }
        return r.choice(forms[loc])()

    def card(self) -> str:
        r = self.rng
        brand = r.choice(
            [
                *("visa13", "visa16", "visa19", "mastercard", "amex", "discover", "diners"),
                *("jcb15", "jcb16", "maestro", "maestro", "unionpay", "mastercard2"),
            ]
        )
        if brand == "unionpay":
            number = luhn_complete("62" + self.digits(r.choice([13, 14, 16])))
        elif brand == "mastercard2":
            number = luhn_complete(str(r.randint(2221, 2720)) + self.digits(11))
        elif brand == "maestro" and r.random() < 0.6:
            number = luhn_complete(
                r.choice(["5018", "5020", "6304", "6759", "6761"]) + self.digits(r.randint(7, 14))
            )
        else:
            number = self.fk["en_US"].credit_card_number(card_type=brand)
        number, _ = self.maybe_wrong(number, 0.1)
        style = r.random()
        if style < 0.35:
            return number
        if len(number) == 15 and number[:2] in ("34", "37"):
            return self.group(number, (4, 6, 5), r.choice([" ", "-"]))
        return self.group(number, (4, 4, 4, 4, 4), r.choice([" ", " ", "-"]))

    def iban(self, loc: str) -> str:
        country = {"es_MX": "es_ES", "pt_BR": "pt_PT"}.get(loc, loc)
        if self.rng.random() < 0.2:
            country = self.rng.choice(["de_DE", "es_ES", "pt_PT", "en_GB", "de_AT"])
        value = self.fk[country].iban()
        value, _ = self.maybe_wrong(value, 0.1)
        if self.rng.random() < 0.55:
            value = self.group(value, (4,) * 9, " ")
        if self.rng.random() < 0.1:
            value = value.lower()
        return value

    def email(self, loc: str) -> str:
        fk = self.fk[loc]
        value = self.rng.choice([fk.email, fk.free_email, fk.company_email, fk.ascii_email])()
        return value.upper() if self.rng.random() < 0.05 else value

    def national_id(self, loc: str) -> tuple[str, str]:
        """(kind, value) of an id the locale's customers give, 20 % with a wrong check digit."""
        fk, r, d = self.fk[loc], self.rng, self.digits
        kinds: dict[str, list[tuple[str, Callable[[], str]]]] = {
            "es_ES": [
                ("ES_DNI", lambda: r.choice(["{}", "{}", "{} ", "{}-"]).format(fk.nif()[:8]) + fk.nif()[-1]),
                ("ES_DNI", lambda: _dotted_dni(fk.nif())),
                ("ES_NIE", lambda: fk.nie()),
                ("ES_NUSS", lambda: r.choice(["{}{}{}", "{}/{}/{}"]).format(*_nuss_parts(fk.nuss()))),
                ("PASSPORT", lambda: f"{r.choice(['PA', 'XD', 'AA'])}{r.choice('ABCDEFGHJK')}{d(6)}"),
            ],
            "es_MX": [
                ("MX_RFC", lambda: fk.rfc()),
                ("MX_CURP", lambda: fk.curp()),
                ("MX_NSS", lambda: fk.ssn()),
                ("PASSPORT", lambda: f"G{d(8)}"),
            ],
            "pt_BR": [
                ("BR_CPF", lambda: fk.cpf() if r.random() < 0.6 else re.sub(r"\D", "", fk.cpf())),
                ("BR_CNPJ", lambda: fk.cnpj()),
                ("BR_RG", lambda: r.choice([fk.rg(), _rg_dotted(fk.rg())])),
                ("PASSPORT", lambda: f"{r.choice(['FZ', 'GA', 'YB'])}{d(6)}"),
            ],
            "pt_PT": [
                (
                    "PT_NIF",
                    lambda: fk.vat_id()[2:] if r.random() < 0.7 else _spaced(fk.vat_id()[2:], (3, 3, 3)),
                ),
                ("PT_CC", lambda: f"{d(8)} {d(1)} {r.choice('ZXYW')}{r.choice('ZXYW')}{d(1)}"),
                ("PT_NISS", lambda: r.choice("12") + d(10)),
                ("PASSPORT", lambda: f"{r.choice('CNP')}{d(6)}"),
            ],
            "de_DE": [
                ("DE_STEUER_ID", lambda: _spaced(_idnr(r), r.choice([(11,), (2, 3, 3, 3)]))),
                ("DE_SVNR", lambda: _svnr(r, fk)),
                ("DE_PERSO", lambda: _perso(r)),
                (
                    "PASSPORT",
                    lambda: "C" + "".join(r.choice("CFGHJKLMNPRTVWXYZ0123456789") for _ in range(8)),
                ),
            ],
            "de_AT": [
                ("AT_SVNR", lambda: _spaced(fk.ssn(), r.choice([(10,), (4, 6)]))),
                ("PASSPORT", lambda: f"{r.choice('PU')}{d(7)}"),
                ("DE_PERSO", lambda: _perso(r)),
            ],
            "en_US": [
                ("US_SSN", lambda: r.choice(["{}-{}-{}", "{} {} {}", "{}{}{}"]).format(*fk.ssn().split("-"))),
                ("US_SSN", lambda: fk.ssn()),
                ("PASSPORT", lambda: r.choice([d(9), f"{r.choice('ACEX')}{d(8)}"])),
                ("US_ITIN", lambda: f"9{d(2)}-{r.choice(['70', '78', '88', '90'])}-{d(4)}"),
            ],
            "en_GB": [
                ("UK_NINO", lambda: r.choice([fk.ssn(), fk.ssn().replace(" ", "")])),
                ("UK_NHS", lambda: _spaced(_nhs(r), r.choice([(3, 3, 4), (10,)]))),
                ("PASSPORT", lambda: d(9)),
            ],
        }
        kind, make = r.choice(kinds[loc])
        value = make()
        if kind not in ("PASSPORT", "PT_CC"):
            value, _ = self.maybe_wrong(value)
        if r.random() < 0.08:
            value = value.lower()
        return kind, value

    def dob(self, loc: str) -> str:
        date = self.fk[loc].date_of_birth(minimum_age=1, maximum_age=95)
        lang = LANG[loc]
        months = MONTH_NAMES[lang]
        r = self.rng
        forms = [
            f"{date.day:02d}/{date.month:02d}/{date.year}",
            f"{date.day}/{date.month}/{date.year}",
            f"{date.day:02d}.{date.month:02d}.{date.year}",
            f"{date.year}-{date.month:02d}-{date.day:02d}",
            f"{date.day:02d}-{date.month:02d}-{str(date.year)[2:]}",
        ]
        if lang in ("es", "pt"):
            forms.append(f"{date.day} de {months[date.month - 1]} de {date.year}")
        elif lang == "de":
            forms.append(f"{date.day}. {months[date.month - 1]} {date.year}")
        else:
            forms.append(f"{months[date.month - 1]} {date.day}, {date.year}")
            forms.append(f"{date.month}/{date.day}/{date.year}")
            forms.append(f"{date.day} {months[date.month - 1]} {date.year}")
        return r.choice(forms)

    # --- names and addresses -----------------------------------------------------------
    def person(self, loc: str, *, full: bool | None = None) -> str:
        fk, r = self.fk[loc], self.rng
        first = fk.first_name()
        if r.random() < 0.12:
            first = f"{first} {fk.first_name()}" if LANG[loc] != "de" else f"{first}-{fk.first_name()}"
        if full is False or (full is None and r.random() < 0.22):
            return first
        last = fk.last_name()
        lang = LANG[loc]
        roll = r.random()
        if lang == "es":
            if roll < 0.35:
                last = f"{last} {fk.last_name()}"
            elif roll < 0.45:
                last = f"{last} y {fk.last_name()}"
            elif roll < 0.55:
                last = f"{r.choice(['de la', 'del', 'de'])} {fk.last_name()}"
        elif lang == "pt":
            if roll < 0.35:
                last = f"{r.choice(['da', 'dos', 'de', 'do'])} {fk.last_name()}"
            elif roll < 0.55:
                last = f"{fk.last_name()} {last}"
            elif roll < 0.62:
                last = f"{last} e {fk.last_name()}"
        elif lang == "de":
            if roll < 0.12:
                last = f"{r.choice(['von', 'von der', 'zu'])} {last}"
            elif roll < 0.25:
                last = f"{last}-{fk.last_name()}"
        elif roll < 0.1:
            last = f"{r.choice(['van', 'de', 'van der', 'Mc'])} {last}".replace("Mc ", "Mc")
        elif roll < 0.2:
            last = f"{last}-{fk.last_name()}"
        return f"{first} {last}"

    def address(self, loc: str) -> str:
        fk, r = self.fk[loc], self.rng
        lang = LANG[loc]
        street = fk.street_address().replace("\n", ", ")
        roll = r.random()
        if loc == "es_ES":
            unit = r.choice(
                [
                    "",
                    "",
                    f", {r.randint(1, 9)}º {r.choice('ABCD')}",
                    f", piso {r.randint(1, 8)}",
                    f" {fk.secondary_address()}",
                ]
            )
            tail = r.choice(["", f", {fk.postcode()} {fk.city()}", f", {fk.postcode()}", f" ({fk.city()})"])
            value = f"{street}{unit}{tail}"
        elif loc == "es_MX":
            tail = r.choice(
                [
                    "",
                    f", Col. {fk.last_name()}",
                    f", C.P. {fk.postcode()[:5]}",
                    f", {fk.city()}, {fk.postcode()[:5]}",
                ]
            )
            value = f"{street}{tail}"
        elif lang == "pt":
            unit = r.choice(
                [
                    "",
                    "",
                    f", apto {r.randint(11, 904)}",
                    f", {r.randint(1, 9)}º Esq",
                    f" bloco {r.choice('ABC')}",
                ]
            )
            tail = r.choice(
                ["", f", {fk.postcode()} {fk.city()}", f", CEP {fk.postcode()}", f" - {fk.city()}"]
            )
            value = f"{street}{unit}{tail}"
        elif lang == "de":
            if roll < 0.3:
                name = f"{fk.first_name()}-{fk.last_name()}-{r.choice(['Straße', 'Allee', 'Weg', 'Platz', 'Ring'])}"
                street = f"{name} {r.randint(1, 150)}{r.choice(['', '', 'a', '/' + str(r.randint(1, 20))])}"
            tail = r.choice(
                [
                    "",
                    f", {fk.postcode()} {fk.city()}",
                    f" in {fk.postcode()} {fk.city()}",
                    f", {fk.postcode()}",
                ]
            )
            value = f"{street}{tail}"
        elif loc == "en_US":
            if roll < 0.12:
                value = f"PO Box {r.randint(10, 99999)}, {fk.city()}, {fk.state_abbr()} {fk.postcode()}"
            else:
                unit = r.choice(
                    [
                        "",
                        "",
                        f", Apt {r.randint(1, 40)}{r.choice(['', 'B'])}",
                        f" Suite {r.randint(100, 999)}",
                        f" #{r.randint(1, 99)}",
                    ]
                )
                tail = r.choice(
                    [
                        "",
                        f", {fk.city()}, {fk.state_abbr()} {fk.postcode()}",
                        f", {fk.city()} {fk.state_abbr()}",
                    ]
                )
                value = f"{fk.building_number()} {fk.street_name()}{unit}{tail}"
        else:
            if roll < 0.1:
                value = f"PO Box {r.randint(10, 9999)}, {fk.city()} {fk.postcode()}"
            elif roll < 0.25:
                value = f"Flat {r.randint(1, 30)}, {fk.building_number()} {fk.street_name()}, {fk.postcode()}"
            else:
                tail = r.choice(
                    ["", f", {fk.city()} {fk.postcode()}", f", {fk.postcode()}", f", {fk.city()}"]
                )
                value = f"{fk.building_number()} {fk.street_name()}{tail}"
        return value.strip()


def _spaced(value: str, sizes: tuple[int, ...]) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(value[i : i + size])
        i += size
    return " ".join(p for p in out if p) + value[i:]


def _dotted_dni(nif: str) -> str:
    n = nif[:8]
    return f"{n[:2]}.{n[2:5]}.{n[5:8]}-{nif[8]}"


def _nuss_parts(nuss: str) -> tuple[str, str, str]:
    return nuss[:2], nuss[2:10], nuss[10:]


def _rg_dotted(rg: str) -> str:
    return f"{rg[:2]}.{rg[2:5]}.{rg[5:8]}-{rg[8:]}"


def luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        number = prefix + check
        total = 0
        for i, ch in enumerate(reversed(number)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return number
    raise AssertionError


def _idnr(r: random.Random) -> str:
    while True:
        body = str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(9))
        if max(body.count(c) for c in set(body)) in (2, 3):
            number = body + mod_11_10.calc_check_digit(body)
            if idnr.is_valid(number):
                return number


def _svnr(r: random.Random, fk: Faker) -> str:
    born = fk.date_of_birth(minimum_age=18, maximum_age=80)
    letter = fk.last_name()[0].upper()
    body = f"{r.randint(2, 89):02d}{born.day:02d}{born.month:02d}{str(born.year)[2:]}{letter}{r.randint(0, 99):02d}"
    value = body + str(r.randint(0, 9))
    return r.choice([value, f"{value[:2]} {value[2:8]} {value[8]} {value[9:]}"])


def _perso(r: random.Random) -> str:
    alphabet = "CFGHJKLMNPRTVWXYZ0123456789"
    body = r.choice("LMNPRTVWXY") + "".join(r.choice(alphabet) for _ in range(7))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * (7, 3, 1)[i % 3] for i, c in enumerate(body))
    return body + str(total % 10)


def _nhs(r: random.Random) -> str:
    while True:
        body = "".join(r.choice("0123456789") for _ in range(9))
        check = 11 - sum(int(c) * (10 - i) for i, c in enumerate(body)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return body + str(check)


MONTH_NAMES = {
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "pt": [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}

# --- templates ------------------------------------------------------------------------------
# PII slots: {NAME} {FIRST} {TITLED} (title + surname) {PHONE} {EMAIL} {CARD} {IBAN} {ID} {DOB}
# {ADDR}; keep slots: {$price} {$time} {$date} {$dur} {$qty} {$svc}. One template a message.

PII_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "hola buenas, me llamo {NAME} y quería una cita para {$svc} el {$date}",
        "Buenas tardes, soy {NAME}. Mi número es {PHONE}, me podéis llamar?",
        "perdona, el DNI es {ID} por si lo necesitáis para la ficha",
        "Os paso mis datos: {NAME}, tel. {PHONE}, correo {EMAIL}",
        "La reserva a nombre de {NAME} para {$qty} a las {$time}",
        "mi fecha de nacimiento es {DOB} y mi número de seguro {ID}",
        "nací el {DOB}, lo pongo para el formulario",
        "Fecha de nac.: {DOB}",
        "Para pagar la señal: tarjeta {CARD}, caduca 09/28",
        "os hago transferencia desde {IBAN} vale?",
        "Vivo en {ADDR}, me queda cerca?",
        "la dirección para el envío es {ADDR}",
        "Mándame la factura a {EMAIL} porfa",
        "Gracias!! un saludo, {NAME}",
        "Muchas gracias por todo\n{NAME}",
        "ok perfecto, atte. {TITLED}",
        "Hola, llamo de parte del {TITLED}, quiere cambiar su cita del {$date}",
        "es para mi hija {FIRST}, tiene {$qty}",
        "mi pasaporte es {ID}, soy extranjera",
        "Mi RFC es {ID} para la factura porfa",
        "me pasas a {FIRST}? es la que me atendió la última vez",
        "Te dejo mi cel {PHONE} y mi correo {EMAIL}",
        "Soy {NAME}, DNI {ID}, vivo en {ADDR}",
        "hola soy {FIRST} 😊 tienen hueco {$date} a las {$time}?",
        "número de tarjeta {CARD} titular {NAME}",
        "mi CURP {ID} y fecha de nacimiento {DOB}",
        "Buenas, el paciente es {NAME}, nacido el {DOB}",
        "ahí va mi whats {PHONE}",
        "mi número de la seguridad social es {ID}",
        "cuenta para la devolución: {IBAN}",
        "cambiame la cita de {NAME} al {$date}, gracias",
    ],
    "pt": [
        "olá, meu nome é {NAME} e queria marcar {$svc} para {$date}",
        "Boa tarde! Aqui é {NAME}, meu telefone é {PHONE}",
        "meu CPF é {ID}, pode colocar na nota?",
        "Segue meus dados: {NAME}, {PHONE}, {EMAIL}",
        "reserva em nome de {NAME} para {$qty} às {$time}",
        "data de nascimento: {DOB}",
        "nasci em {DOB}, precisa mais alguma coisa?",
        "o cartão é {CARD}, validade 11/27",
        "vou fazer a transferência do IBAN {IBAN}",
        "Moro na {ADDR}, vocês entregam aí?",
        "endereço para entrega: {ADDR}",
        "manda o orçamento pro {EMAIL} por favor",
        "Obrigada! Abraços, {NAME}",
        "valeu!\n{NAME}",
        "ok, até amanhã. att {TITLED}",
        "falo em nome da {TITLED}, ela quer remarcar",
        "é para o meu filho {FIRST}, ele tem {$qty}",
        "o número do meu passaporte é {ID}",
        "NIF {ID} para a fatura se faz favor",
        "pode chamar a {FIRST}? ela já me conhece",
        "meu zap é {PHONE}",
        "Sou {NAME}, RG {ID}, moro na {ADDR}",
        "oi sou a {FIRST}, tem vaga {$date} às {$time}?",
        "cartão {CARD} em nome de {NAME}",
        "o paciente chama-se {NAME} e nasceu a {DOB}",
        "meu contribuinte é {ID}",
        "documento {ID}",
        "pix não dá, mando pelo IBAN {IBAN}",
        "CNPJ da empresa {ID}, emitam a nota por favor",
        "remarca a consulta da {NAME} para {$date}",
    ],
    "de": [
        "Hallo, mein Name ist {NAME}, ich hätte gern einen Termin für {$svc} am {$date}",
        "Guten Tag, hier ist {NAME}. Sie erreichen mich unter {PHONE}",
        "Meine Steuer-ID lautet {ID}",
        "Meine Daten: {NAME}, Tel. {PHONE}, Mail {EMAIL}",
        "Reservierung auf den Namen {NAME} für {$qty} um {$time}",
        "Geburtsdatum: {DOB}",
        "ich bin am {DOB} geboren",
        "geb. {DOB}",
        "Kreditkarte {CARD}, gültig bis 08/27",
        "ich überweise von {IBAN}, passt das?",
        "Ich wohne in der {ADDR}, ist das weit?",
        "Lieferadresse: {ADDR}",
        "Schicken Sie die Rechnung bitte an {EMAIL}",
        "Vielen Dank und liebe Grüße\n{NAME}",
        "Danke! VG {NAME}",
        "mfg {TITLED}",
        "Ich rufe im Auftrag von {TITLED} an, er möchte den Termin am {$date} verschieben",
        "der Termin ist für meine Tochter {FIRST}, sie ist {$qty}",
        "Meine Passnummer ist {ID}",
        "Sozialversicherungsnummer {ID}",
        "können Sie mich mit {FIRST} verbinden? Sie hat mich letztes Mal behandelt",
        "Handy: {PHONE}",
        "Ich bin {NAME}, Ausweisnummer {ID}, wohnhaft {ADDR}",
        "hi, {FIRST} hier, haben Sie {$date} um {$time} was frei?",
        "Karte {CARD}, Inhaber {NAME}",
        "Patient: {NAME}, geboren am {DOB}",
        "bitte den Termin von {NAME} auf {$date} legen",
        "SVNR {ID}, Versicherung ÖGK",
        "für das Formular: {ID}",
        "IBAN: {IBAN}",
    ],
    "en": [
        "hi, my name is {NAME} and I'd like to book {$svc} on {$date}",
        "Hello, this is {NAME}. You can reach me on {PHONE}",
        "my SSN is {ID} if you need it for the insurance form",
        "My details: {NAME}, phone {PHONE}, email {EMAIL}",
        "Table under the name {NAME} for {$qty} at {$time}",
        "date of birth {DOB}",
        "I was born on {DOB}",
        "DOB: {DOB}",
        "card number {CARD} exp 10/28 cvv on request",
        "I'll send the deposit from {IBAN}",
        "I live at {ADDR}, how far is that from you?",
        "please ship it to {ADDR}",
        "send the receipt to {EMAIL} thanks",
        "Thanks so much! Best, {NAME}",
        "Cheers\n{NAME}",
        "ok see you then. regards, {TITLED}",
        "I'm calling on behalf of {TITLED}, she needs to move her appointment on {$date}",
        "it's for my son {FIRST}, he's {$qty}",
        "my passport number is {ID}",
        "NI number {ID}",
        "can I speak to {FIRST}? she did my nails last time",
        "text me at {PHONE}",
        "I'm {NAME}, NHS number {ID}, address {ADDR}",
        "hey it's {FIRST}, any slots {$date} at {$time}?",
        "Visa {CARD}, name on card {NAME}",
        "patient name {NAME}, born {DOB}",
        "please move {NAME}'s appointment to {$date}",
        "my social is {ID}",
        "ID for the form: {ID}",
        "here's my number for the insurance {ID} and my dob {DOB}",
        "call me back on {PHONE} ext 12 after {$time}",
    ],
}

NEGATIVE_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "cuánto cuesta {$svc}? vi que estaba a {$price}",
        "tenéis hueco el {$date} a las {$time}?",
        "cuánto dura {$svc}? unos {$dur}?",
        "somos {$qty}, hay mesa a las {$time}?",
        "se puede pagar con tarjeta de crédito o solo efectivo?",
        "quiero cambiar mi pedido, eran {$qty} y no {$qty}",
        "la cita del {$date} a las {$time} sigue en pie?",
        "hacéis {$svc}? y cuánto sale, {$price}?",
        "Abrís el {$date}? quería ir sobre las {$time}",
        "me confirmas la reserva para el {$date}? gracias",
        "El {$svc} de {$dur} cuánto es?",
        "perfecto, nos vemos el {$date} a las {$time}",
    ],
    "pt": [
        "quanto custa {$svc}? vi por {$price}",
        "tem horário {$date} às {$time}?",
        "quanto tempo demora {$svc}? uns {$dur}?",
        "somos {$qty}, tem mesa às {$time}?",
        "aceitam cartão de crédito ou só pix?",
        "quero alterar o pedido, são {$qty} e não {$qty}",
        "a consulta de {$date} às {$time} está confirmada?",
        "vocês fazem {$svc}? quanto fica, {$price}?",
        "abrem {$date}? queria passar por volta das {$time}",
        "ótimo, até {$date} às {$time}",
        "{$svc} de {$dur} sai por quanto?",
    ],
    "de": [
        "Was kostet {$svc}? Ich habe {$price} gesehen",
        "Haben Sie am {$date} um {$time} noch was frei?",
        "Wie lange dauert {$svc}? So {$dur}?",
        "Wir sind {$qty}, geht {$time}?",
        "Kann ich mit Kreditkarte zahlen oder nur bar?",
        "Ich möchte meine Bestellung ändern, {$qty} statt {$qty}",
        "Steht der Termin am {$date} um {$time} noch?",
        "Bieten Sie {$svc} an? Für {$price}?",
        "Haben Sie am {$date} geöffnet? Ich käme gegen {$time}",
        "Super, dann bis {$date} um {$time}",
        "Was kostet {$svc} mit {$dur}?",
    ],
    "en": [
        "how much is {$svc}? I saw {$price} online",
        "do you have anything on {$date} at {$time}?",
        "how long does {$svc} take, about {$dur}?",
        "we're {$qty}, is {$time} ok?",
        "can I pay by credit card or is it cash only?",
        "I need a statement for my insurance, is that possible?",
        "is the new client offer still on? {$price} for {$svc}?",
        "I'd like to change my order to {$qty} instead of {$qty}",
        "is my appointment on {$date} at {$time} still confirmed?",
        "do you do {$svc}? is it {$price}?",
        "are you open on {$date}? I could come around {$time}",
        "great, see you {$date} at {$time}",
        "is the bridal suite free on {$date}?",
        "will {$svc} be ready by {$time}?",
    ],
}

SERVICES: dict[str, list[str]] = {
    "es": [
        "corte de pelo",
        "tinte",
        "manicura",
        "limpieza dental",
        "masaje",
        "la depilación",
        "el peeling",
        "la revisión",
        "Masaje Castillo",
        "el corte Mesa",
        "la pedicura",
    ],
    "pt": [
        "corte de cabelo",
        "manicure",
        "escova",
        "limpeza de pele",
        "massagem",
        "a revisão",
        "o Banho Rosa",
        "a depilação",
        "unhas de gel",
    ],
    "de": [
        "Haarschnitt",
        "Maniküre",
        "Massage",
        "Zahnreinigung",
        "Färben",
        "Fußpflege",
        "die Koch-Massage",
        "den Schneider-Service",
        "Gesichtsbehandlung",
        "Waxing",
    ],
    "en": [
        "a haircut",
        "a barber shave",
        "the Baker massage",
        "gel nails",
        "a facial",
        "teeth whitening",
        "a Taylor fit session",
        "the Hunter package",
        "waxing",
        "a deep clean",
        "the Grant special",
    ],
}
TITLES = {
    "es": ["Dr.", "Dra.", "lic.", "Lic.", "ing.", "Sr.", "Sra.", "don", "doña"],
    "pt": ["Dr.", "Dra.", "sr.", "Sra.", "dona", "prof."],
    "de": ["Dr.", "Herr", "Frau", "Frau Dr.", "Prof.", "herr"],
    "en": ["Dr.", "Dr", "Mr", "Mrs.", "Ms", "Prof.", "mr"],
}


def keep_value(g: Gen, loc: str, kind: str) -> str:
    r, lang = g.rng, LANG[loc]
    if kind == "price":
        amount = r.choice(
            [
                f"{r.randint(5, 180)}",
                f"{r.randint(5, 180)},{r.choice(['00', '50', '90', '99'])}",
                f"{r.randint(5, 180)}.{r.choice(['00', '50', '95'])}",
            ]
        )
        return r.choice(
            {
                "es": [f"{amount} €", f"{amount}€", f"${amount}", f"{amount} pesos"],
                "pt": [f"R$ {amount}", f"{amount}€", f"R${amount}"],
                "de": [f"{amount} €", f"{amount} Euro", f"EUR {amount}"],
                "en": [f"${amount}", f"£{amount}", f"{amount} dollars", f"USD {amount}"],
            }[lang]
        )
    if kind == "time":
        h, m = r.randint(7, 20), r.choice(["00", "15", "30", "45"])
        return r.choice(
            {
                "es": [f"{h}:{m}", f"{h}h", f"{h % 12 or 12} de la tarde", f"{h}.{m}"],
                "pt": [f"{h}h{m}", f"{h}h", f"{h}:{m}"],
                "de": [f"{h}:{m} Uhr", f"{h} Uhr", f"{h}.{m}"],
                "en": [f"{h % 12 or 12}:{m}pm", f"{h % 12 or 12}am", f"{h}:{m}", f"{h % 12 or 12} pm"],
            }[lang]
        )
    if kind == "date":
        d, mo = r.randint(1, 28), r.randint(1, 12)
        month = MONTH_NAMES[lang][mo - 1]
        return r.choice(
            {
                "es": [f"{d}/{mo}", f"{d} de {month}", f"{d:02d}/{mo:02d}/2026", "jueves", f"lunes {d}"],
                "pt": [f"{d}/{mo}", f"dia {d}", f"{d} de {month}", "sexta", f"{d:02d}/{mo:02d}/2026"],
                "de": [f"{d}.{mo}.", f"{d:02d}.{mo:02d}.2026", f"{d}. {month}", "Dienstag"],
                "en": [f"{mo}/{d}", f"{month} {d}", f"the {d}th", "Friday", f"{mo:02d}/{d:02d}/2026"],
            }[lang]
        )
    if kind == "dur":
        return r.choice(
            {
                "es": ["45 minutos", "1 hora", "1h30", "90 min", "media hora"],
                "pt": ["40 minutos", "1 hora", "1h30", "2 horas"],
                "de": ["30 Minuten", "1 Stunde", "90 Min.", "1,5 Stunden"],
                "en": ["45 minutes", "an hour", "90 mins", "1.5 hours"],
            }[lang]
        )
    if kind == "qty":
        n = r.randint(2, 12)
        return r.choice(
            {
                "es": [f"{n} personas", f"{n} años", f"{n} unidades"],
                "pt": [f"{n} pessoas", f"{n} anos", f"{n} unidades"],
                "de": [f"{n} Personen", f"{n} Jahre alt", f"{n} Stück"],
                "en": [f"{n} people", f"{n} years old", f"{n} units", f"{n} of us"],
            }[lang]
        )
    return r.choice(SERVICES[lang])


SLOT = re.compile(r"\{(\$?\w+)\}")


def fill(g: Gen, loc: str, template: str) -> Msg:
    msg, lang, r = Msg(), LANG[loc], g.rng
    lower = r.random() < 0.12
    cursor = 0
    for match in SLOT.finditer(template):
        msg.lit(template[cursor : match.start()])
        cursor = match.end()
        slot = match.group(1)
        if slot.startswith("$"):
            msg.keep_(slot[1:], keep_value(g, loc, slot[1:]))
            continue
        if slot == "NAME":
            value = g.person(loc)
            msg.pii("PERSON", value.lower() if lower or r.random() < 0.1 else value)
        elif slot == "FIRST":
            value = g.person(loc, full=False)
            msg.pii("PERSON", value.lower() if lower else value)
        elif slot == "TITLED":
            msg.lit(r.choice(TITLES[lang]) + " ")
            value = g.fk[loc].last_name() if r.random() < 0.6 else g.person(loc, full=True)
            msg.pii("PERSON", value.lower() if lower else value)
        elif slot == "PHONE":
            msg.pii("PHONE_NUMBER", g.phone(loc))
        elif slot == "EMAIL":
            msg.pii("EMAIL_ADDRESS", g.email(loc))
        elif slot == "CARD":
            msg.pii("CREDIT_CARD", g.card())
        elif slot == "IBAN":
            msg.pii("IBAN_CODE", g.iban(loc))
        elif slot == "ID":
            kind, value = g.national_id(loc)
            msg.pii("NATIONAL_ID", value, id_kind=kind)
        elif slot == "DOB":
            msg.pii("DATE_OF_BIRTH", g.dob(loc))
        elif slot == "ADDR":
            msg.pii("STREET_ADDRESS", g.address(loc))
        else:
            raise ValueError(slot)
    msg.lit(template[cursor:])
    if lower:
        msg.text = msg.text.lower()
    if lang != "en" and r.random() < 0.15:
        msg.text = _same_length(msg.text, strip_accents)
    if r.random() < 0.1:
        msg.text = typo(r, msg)
    return msg


def _same_length(text: str, change: Callable[[str], str]) -> str:
    changed = "".join(change(ch) or ch for ch in text)
    return changed if len(changed) == len(text) else text


def typo(r: random.Random, msg: Msg) -> str:
    """Swap two neighbouring letters of a literal word (never inside a slot)."""
    busy = {i for s in (*msg.spans, *msg.keep) for i in range(s["start"] - 1, s["end"] + 1)}
    spots = [
        i
        for i in range(len(msg.text) - 1)
        if msg.text[i].isalpha() and msg.text[i + 1].isalpha() and i not in busy and i + 1 not in busy
    ]
    if not spots:
        return msg.text
    i = r.choice(spots)
    return msg.text[:i] + msg.text[i + 1] + msg.text[i] + msg.text[i + 2 :]


def build(seed: int, per_locale: int) -> list[dict[str, Any]]:
    g = Gen(seed)
    records: list[dict[str, Any]] = []
    for loc in LOCALES:
        lang = LANG[loc]
        for i in range(per_locale):
            negative = i % 3 == 2
            template = g.rng.choice((NEGATIVE_TEMPLATES if negative else PII_TEMPLATES)[lang])
            msg = fill(g, loc, template)
            records.append(
                {
                    "id": len(records),
                    "lang": lang,
                    "locale": loc,
                    "text": msg.text,
                    "spans": msg.spans,
                    "keep": msg.keep,
                    "known_names": [],
                    "pii_free": not msg.spans,
                }
            )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--per-locale", type=int, default=320)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    records = build(args.seed, args.per_locale)
    with args.out.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} messages to {args.out}")


if __name__ == "__main__":
    main()

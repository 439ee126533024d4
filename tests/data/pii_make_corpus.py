"""Write tests/data/pii_corpus.jsonl: receptionist chats in es/pt/de/en with gold PII spans.

Deterministic (seeded). Names come from Faker locales (es_ES, es_MX, pt_BR, pt_PT, de_DE,
en_US, en_GB) and from lists below for Arabic, Chinese, Indian, Turkish, Nigerian, Japanese,
Korean, Vietnamese, Slavic and Persian names; about 15 % are typed in lower case. Phones are
random valid numbers (phonenumbers), ids carry correct check digits (python-stdnum), cards pass
Luhn. PII-free messages are full of dates, times, prices and services ("keep" spans).

    uv run python tests/data/pii_make_corpus.py
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum.br import cnpj, cpf
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10
from stdnum.mx import curp, rfc
from stdnum.pt import nif as pt_nif

OUT = Path(__file__).with_name("pii_corpus.jsonl")
SEED = 20261123
rng = random.Random(SEED)

LOCALES = {
    "es": ["es_ES", "es_MX"],
    "pt": ["pt_BR", "pt_PT"],
    "de": ["de_DE"],
    "en": ["en_US", "en_GB"],
}
FAKERS = {loc: Faker(loc) for locs in LOCALES.values() for loc in locs}
for i, fk in enumerate(FAKERS.values()):
    fk.seed_instance(SEED + i)

OTHER_ORIGINS = {
    "arabic": (
        ["Ahmed", "Fatima", "Youssef", "Layla", "Omar", "Mariam", "Khalid", "Nour", "Hassan", "Amira"],
        ["Al-Sayed", "Haddad", "Mansour", "Khalil", "Nasser", "Farouk", "Benali", "El Amrani"],
    ),
    "chinese": (
        ["Wei", "Xiaoming", "Li Na", "Jing", "Hao", "Mei", "Zhiwei", "Yan", "Lei", "Xiu"],
        ["Zhang", "Wang", "Chen", "Liu", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"],
    ),
    "indian": (
        ["Priya", "Arjun", "Ananya", "Rohan", "Aarav", "Lakshmi", "Vikram", "Deepika", "Sanjay", "Kavya"],
        ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Mukherjee", "Rao"],
    ),
    "turkish": (
        ["Mehmet", "Ayşe", "Emre", "Zeynep", "Burak", "Elif", "Mustafa", "Selin"],
        ["Yılmaz", "Kaya", "Demir", "Çelik", "Şahin", "Öztürk", "Aydın"],
    ),
    "nigerian": (
        ["Chinedu", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Funmilayo", "Tunde", "Chiamaka"],
        ["Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu", "Adebayo"],
    ),
    "japanese": (
        ["Haruto", "Yui", "Sota", "Hina", "Kenji", "Sakura", "Takumi", "Aiko"],
        ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Yamamoto", "Nakamura"],
    ),
    "korean": (
        ["Min-jun", "Seo-yeon", "Ji-hoon", "Ha-eun", "Do-yoon", "Soo-ah"],
        ["Kim", "Lee", "Park", "Choi", "Jung", "Kang"],
    ),
    "vietnamese": (
        ["Nguyen Van An", "Linh", "Minh", "Thao", "Quang", "Huong"],
        ["Nguyen", "Tran", "Pham", "Hoang", "Vu", "Dang"],
    ),
    "slavic": (
        ["Olena", "Dmytro", "Katarzyna", "Piotr", "Svetlana", "Oleksandr", "Natalia", "Miroslav"],
        ["Kowalski", "Shevchenko", "Nowak", "Ivanova", "Kovalenko", "Wiśniewska", "Petrov"],
    ),
    "persian": (
        ["Dariush", "Shirin", "Reza", "Parisa", "Kourosh", "Leila"],
        ["Hosseini", "Rahimi", "Karimi", "Tehrani", "Moradi"],
    ),
}

SERVICES = {
    "es": [
        "corte de pelo",
        "tinte",
        "manicura",
        "limpieza dental",
        "masaje relajante",
        "depilación",
        "mechas",
    ],
    "pt": ["corte de cabelo", "manicure", "pedicure", "limpeza de pele", "massagem", "escova", "luzes"],
    "de": ["Haarschnitt", "Maniküre", "Massage", "Zahnreinigung", "Färben", "Gesichtsbehandlung", "Pediküre"],
    "en": ["haircut", "manicure", "deep tissue massage", "teeth cleaning", "facial", "colour", "blow dry"],
}
BRANDED = ["Corte Premium", "Spa Deluxe", "Glow Facial", "Express Nails", "Kerastase Ritual", "Beauty Lounge"]
WEEKDAYS = {
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "Lunes", "Viernes"],
    "pt": ["segunda", "terça", "quarta", "quinta", "sexta", "sábado", "Segunda-feira", "Sexta"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "tuesday"],
}
MONTHS = {
    "es": ["enero", "marzo", "mayo", "junio", "octubre", "Diciembre"],
    "pt": ["janeiro", "março", "maio", "junho", "outubro", "Dezembro"],
    "de": ["Januar", "März", "Mai", "Juni", "Oktober", "Dezember"],
    "en": ["January", "March", "May", "June", "October", "December", "April", "August"],
}


class Builder:
    """Concatenates pieces and records the gold spans of the slots."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict[str, Any]] = []
        self.keep: list[dict[str, Any]] = []

    def add(self, piece: str) -> None:
        self.text += piece

    def slot(self, kind: str, value: str, *, keep: bool = False, **meta: Any) -> None:
        start = len(self.text)
        self.text += value
        record = {"type": kind, "start": start, "end": len(self.text), **meta}
        (self.keep if keep else self.spans).append(record)


# --- generators of valid identifiers ----------------------------------------------------


def phone(lang: str) -> str:
    region = rng.choice(
        {
            "es": ["ES", "ES", "MX", "AR", "CO"],
            "pt": ["BR", "BR", "PT"],
            "de": ["DE", "DE", "FR", "IT"],
            "en": ["US", "GB", "GB", "US"],
        }[lang]
    )
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert meta is not None
    for _ in range(10000):
        kind = rng.choice(["mobile", "fixed_line"])
        desc = meta.mobile if kind == "mobile" else meta.fixed_line
        assert desc is not None and desc.example_number is not None
        example = desc.example_number
        national = "".join(str(rng.randint(0, 9)) if rng.random() < 0.6 else ch for ch in example)
        national = example[:3] + national[3:]
        try:
            number = phonenumbers.parse(national, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            style = rng.choice(
                [
                    phonenumbers.PhoneNumberFormat.NATIONAL,
                    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                    phonenumbers.PhoneNumberFormat.E164,
                    phonenumbers.PhoneNumberFormat.NATIONAL,
                ]
            )
            text = phonenumbers.format_number(number, style)
            if rng.random() < 0.2:
                text = text.replace(" ", "")
            return text
    raise RuntimeError("no valid phone")


def card() -> str:
    brand = rng.choice(["visa16", "visa19", "visa13", "mc5", "mc2", "amex", "maestro", "maestro12"])
    prefix, length = {
        "visa16": ("4", 16),
        "visa19": ("4", 19),
        "visa13": ("4", 13),
        "mc5": (str(rng.randint(51, 55)), 16),
        "mc2": (str(rng.randint(2221, 2720)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "maestro": (rng.choice(["5018", "5020", "6304", "6759"]), rng.choice([16, 18, 19])),
        "maestro12": ("6759", 12),
    }[brand]
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    for d in range(10):
        candidate = body + str(d)
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            break
    number = candidate
    style = rng.random()
    if style < 0.5:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style < 0.7:
        return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def iban(lang: str) -> str:
    loc = rng.choice(LOCALES[lang])
    country = {
        "es_ES": "ES",
        "es_MX": "ES",
        "pt_BR": "BR",
        "pt_PT": "PT",
        "de_DE": "DE",
        "en_US": "GB",
        "en_GB": "GB",
    }[loc]
    value = FAKERS[loc].iban()
    if not value.startswith(country) or not std_iban.is_valid(value):
        value = FAKERS["es_ES"].iban()
    assert std_iban.is_valid(value)
    return std_iban.format(value) if rng.random() < 0.6 else value


def _digits(n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def national_id(lang: str) -> tuple[str, str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    consonants = "BCDFGHJKLMNPQRSTVWXYZ"
    if lang == "es":
        kind = rng.choice(["ES_DNI", "ES_NIE", "MX_CURP", "MX_RFC"])
        if kind == "ES_DNI":
            n = _digits(8)
            value = n + "TRWAGMYFPDXBNJZSQVHLCKE"[int(n) % 23]
            return kind, value if rng.random() < 0.7 else f"{n}-{value[-1]}"
        if kind == "ES_NIE":
            p = rng.choice("XYZ")
            n = _digits(7)
            return kind, p + n + "TRWAGMYFPDXBNJZSQVHLCKE"[int(str("XYZ".index(p)) + n) % 23]
        date = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        head = rng.choice(letters) + rng.choice("AEIOU") + rng.choice(letters) + rng.choice(letters)
        if head in ("BUEI", "CACA", "CAGA", "COGE", "KAKA", "MAME", "MEAR", "PUTA", "PUTO", "RATA"):
            head = "GOME"
        if kind == "MX_CURP":
            state = rng.choice(["DF", "JC", "NL", "PL", "VZ", "MC", "GT"])
            body = (
                head
                + date
                + rng.choice("HM")
                + state
                + "".join(rng.choice(consonants) for _ in range(3))
                + "0"
            )
            value = body + curp.calc_check_digit(body)
            assert curp.is_valid(value), value
            return kind, value
        for _ in range(1000):
            body = head + date + rng.choice(consonants) + rng.choice("123456789ABC")
            value = body + rfc.calc_check_digit(body)
            if rfc.is_valid(value, validate_check_digits=True):
                return kind, value
        raise RuntimeError("rfc")
    if lang == "pt":
        kind = rng.choice(["BR_CPF", "BR_CPF", "BR_CNPJ", "PT_NIF"])
        if kind == "BR_CPF":
            body = _digits(9)
            value = body + cpf._calc_check_digits(body)
            return kind, cpf.format(value) if rng.random() < 0.7 else value
        if kind == "BR_CNPJ":
            body = _digits(8) + "0001"
            value = body + cnpj.calc_check_digits(body)
            return kind, cnpj.format(value) if rng.random() < 0.7 else value
        body = rng.choice("12356") + _digits(7)
        return kind, body + pt_nif.calc_check_digit(body)
    if lang == "de":
        kind = rng.choice(["DE_TAX_ID", "DE_ID_CARD"])
        if kind == "DE_TAX_ID":
            for _ in range(100000):
                body = str(rng.randint(1, 9)) + _digits(9)
                value = body + mod_11_10.calc_check_digit(body)
                if idnr.is_valid(value):
                    return (
                        kind,
                        value if rng.random() < 0.6 else f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}",
                    )
            raise RuntimeError("idnr")
        charset = "CFGHJKLMNPRTVWXYZ0123456789"
        body = (
            rng.choice("CFGHJKLMNPRTVWXYZ")
            + "".join(rng.choice(charset) for _ in range(6))
            + str(rng.randint(0, 9))
        )
        total = sum((int(c) if c.isdigit() else ord(c) - 55) * (7, 3, 1)[i % 3] for i, c in enumerate(body))
        return kind, body + str(total % 10)
    # English speakers abroad quote a foreign id too
    return national_id(rng.choice(["es", "pt", "de"]))


# --- names and addresses ---------------------------------------------------------------------


def person(lang: str) -> tuple[str, str]:
    """A name and its origin; sometimes first name only, sometimes lower case."""
    if rng.random() < 0.35:
        origin = rng.choice(list(OTHER_ORIGINS))
        firsts, lasts = OTHER_ORIGINS[origin]
        first, last = rng.choice(firsts), rng.choice(lasts)
    else:
        origin = rng.choice(LOCALES[lang])
        fk = FAKERS[origin]
        first, last = fk.first_name(), fk.last_name()
    name = first if rng.random() < 0.3 else f"{first} {last}"
    if rng.random() < 0.15:
        name = name.lower()
        origin += "/lower"
    return name, origin


def address(lang: str) -> str:
    fk = FAKERS[rng.choice(LOCALES[lang])]
    base = fk.last_name()
    num = str(rng.randint(1, 250))
    if lang == "es":
        kind = rng.choice(
            [
                "Calle",
                "Avenida",
                "Av.",
                "Paseo",
                "Plaza",
                "C/",
                "Camino",
                "Ronda",
                "calle",
                "Calzada",
                "Privada",
                "Travesía",
                "avenida",
            ]
        )
        name = rng.choice(
            [
                base,
                f"de {base}",
                f"{fk.first_name()} {base}",
                f"de la {rng.choice(['Paz', 'Luna', 'Iglesia'])}",
            ]
        )
        tail = rng.choice(
            ["", "", f", {rng.randint(1, 9)}º {rng.choice('ABCD')}", f" piso {rng.randint(1, 9)}"]
        )
        sep = rng.choice([" ", ", ", " nº ", " #", " número "])
        return f"{kind} {name}{sep}{num}{tail}"
    if lang == "pt":
        kind = rng.choice(
            ["Rua", "Avenida", "Av.", "Travessa", "Praça", "Alameda", "Estrada", "rua", "Largo", "Rodovia"]
        )
        name = rng.choice(
            [
                base,
                f"{fk.first_name()} {base}",
                f"dos {rng.choice(['Andradas', 'Bandeirantes', 'Pinheiros'])}",
            ]
        )
        tail = rng.choice(["", "", f", apto {rng.randint(11, 1204)}", f", bloco {rng.choice('ABC')}"])
        sep = rng.choice([", ", " ", ", nº ", " nº "])
        return f"{kind} {name}{sep}{num}{tail}"
    if lang == "de":
        stem = base.split("-")[0].split()[0]
        form = rng.choice(
            [
                f"{stem}straße {num}",
                f"{stem}str. {num}",
                f"{stem}weg {num}{rng.choice(['', 'a', 'b'])}",
                f"{stem}allee {num}",
                f"Am {stem}platz {num}",
                f"{stem} Straße {num}",
                f"{stem}gasse {num}",
                f"{stem}ring {num}",
            ]
        )
        return form
    kind = rng.choice(
        [
            "Street",
            "St",
            "Road",
            "Rd",
            "Avenue",
            "Ave",
            "Lane",
            "Drive",
            "Close",
            "Way",
            "Court",
            "Place",
            "Crescent",
            "Terrace",
            "Boulevard",
            "street",
            "road",
        ]
    )
    tail = rng.choice(["", "", f", Apt {rng.randint(1, 40)}", f" Suite {rng.randint(100, 900)}"])
    return f"{num} {base} {kind}{tail}"


# --- message templates -------------------------------------------------------------------------

GREETING = {
    "es": ["Hola", "Buenas", "Buenos días", "Buenas tardes", "hola", ""],
    "pt": ["Olá", "Oi", "Bom dia", "Boa tarde", "oi", ""],
    "de": ["Hallo", "Guten Tag", "Guten Morgen", "Moin", "hallo", ""],
    "en": ["Hi", "Hello", "Good morning", "Hey", "hi", ""],
}
# (cue before the name, text after the name); None cue = the name stands without a cue.
NAME_FRAMES = {
    "es": [
        ("soy ", ", quería pedir cita"),
        ("me llamo ", " y quiero reservar"),
        ("mi nombre es ", "."),
        ("la cita es a nombre de ", ", gracias"),
        ("le escribe ", " por lo de la reserva"),
        ("mi hija ", " también viene"),
        ("", " va a venir en mi lugar"),
        ("¿puede atenderme ", "?"),
        ("reserva para ", " por favor"),
        ("vengo con ", " al corte"),
    ],
    "pt": [
        ("sou ", ", queria marcar um horário"),
        ("me chamo ", " e gostaria de agendar"),
        ("meu nome é ", "."),
        ("a reserva está em nome de ", ", obrigado"),
        ("aqui é ", " de novo"),
        ("minha filha ", " também vai"),
        ("", " vai no meu lugar"),
        ("marca para ", " por favor"),
        ("vou com ", " ao salão"),
    ],
    "de": [
        ("ich heiße ", " und möchte einen Termin"),
        ("mein Name ist ", "."),
        ("hier ist ", ", wegen meines Termins"),
        ("der Termin läuft auf den Namen ", ", danke"),
        ("meine Tochter ", " kommt auch"),
        ("", " kommt statt mir"),
        ("bitte für ", " eintragen"),
        ("ich bin ", " und war letzte Woche da"),
    ],
    "en": [
        ("this is ", ", I'd like to book"),
        ("my name is ", " and I need an appointment"),
        ("I'm ", ", booking for two"),
        ("the booking is under the name ", ", thanks"),
        ("my son ", " is coming too"),
        ("", " will come instead of me"),
        ("can you book ", " in?"),
        ("please put it under ", "."),
        ("I'm coming with ", " tomorrow"),
    ],
}
ID_LABEL = {
    "es": ["mi DNI es ", "mi documento: ", "CURP ", "RFC: ", "NIE "],
    "pt": ["meu CPF é ", "CPF ", "CNPJ da empresa: ", "NIF "],
    "de": ["meine Steuer-ID ist ", "Ausweisnummer ", "Steuer-ID: "],
    "en": ["my ID number is ", "ID: ", "passport-style ID "],
}
PHONE_LABEL = {
    "es": ["mi teléfono es ", "llámame al ", "mi número: ", "whatsapp "],
    "pt": ["meu telefone é ", "me liga no ", "número: "],
    "de": ["meine Nummer ist ", "rufen Sie mich unter ", "Tel. "],
    "en": ["my number is ", "call me on ", "phone: "],
}
EMAIL_LABEL = {
    "es": ["mi correo es ", "email: "],
    "pt": ["meu e-mail é ", "email "],
    "de": ["meine E-Mail ist ", "Mail: "],
    "en": ["my email is ", "email me at "],
}
CARD_LABEL = {
    "es": ["pago con la tarjeta ", "tarjeta "],
    "pt": ["cartão ", "pago com o cartão "],
    "de": ["Kreditkarte ", "Karte: "],
    "en": ["card number ", "charge my card "],
}
IBAN_LABEL = {
    "es": ["mi IBAN es ", "cuenta "],
    "pt": ["IBAN ", "minha conta "],
    "de": ["meine IBAN ist ", "IBAN: "],
    "en": ["my IBAN is ", "IBAN "],
}
ADDR_LABEL = {
    "es": ["vivo en ", "mi dirección es ", "la dirección: "],
    "pt": ["moro na ", "meu endereço é ", "endereço: "],
    "de": ["ich wohne in der ", "meine Adresse: ", "Adresse "],
    "en": ["I live at ", "my address is ", "deliver to "],
}
TAILS = {
    "es": [" gracias", " por favor", " mañana", " saludos", "", " vale?"],
    "pt": [" obrigado", " por favor", " amanhã", "", " beleza?"],
    "de": [" danke", " bitte", " morgen", "", " Grüße"],
    "en": [" thanks", " please", " yesterday", "", " cheers"],
}


def booking_phrase(b: Builder, lang: str) -> None:
    """A booking phrase with a day or date, a time, a service and often a price (keep spans)."""
    day = rng.choice(WEEKDAYS[lang])
    hour = rng.choice(["10:30", "17:00", "9:15", "12h", "18.30", "16h30", "8 pm", "11am"])
    service = rng.choice(SERVICES[lang] + BRANDED[:3])
    price = rng.choice(
        ["25 €", "45€", "€30", "R$ 80", "120 euros", "$40", "35,50 €", "£25", "60 reais", "19,90€"]
    )
    sep = {"es": " de ", "pt": " de ", "de": ". ", "en": " "}[lang]
    date = f"{rng.randint(1, 28)}{sep}{rng.choice(MONTHS[lang])}"
    if lang == "es":
        parts = [
            ("el ", None),
            (day, "date"),
            (" ", None),
            (date, "date"),
            (" a las ", None),
            (hour, "time"),
            (" para ", None),
            (service, "service"),
            (", cuesta ", None),
            (price, "price"),
            ("?", None),
        ]
    elif lang == "pt":
        parts = [
            ("na ", None),
            (day, "date"),
            (" dia ", None),
            (date, "date"),
            (" às ", None),
            (hour, "time"),
            (" para ", None),
            (service, "service"),
            (", custa ", None),
            (price, "price"),
            ("?", None),
        ]
    elif lang == "de":
        parts = [
            ("am ", None),
            (day, "date"),
            (", den ", None),
            (date, "date"),
            (" um ", None),
            (hour, "time"),
            (" für ", None),
            (service, "service"),
            (", kostet das ", None),
            (price, "price"),
            ("?", None),
        ]
    else:
        parts = [
            ("on ", None),
            (day, "date"),
            (" ", None),
            (date, "date"),
            (" at ", None),
            (hour, "time"),
            (" for a ", None),
            (service, "service"),
            (", is it still ", None),
            (price, "price"),
            ("?", None),
        ]
    for text, kind in parts:
        if kind is None:
            b.add(text)
        else:
            b.slot(kind, text, keep=True)


def pii_message(lang: str, kind: str) -> dict[str, Any]:
    b = Builder()
    greeting = rng.choice(GREETING[lang])
    if greeting:
        b.add(greeting + rng.choice([", ", " ", "! "]))
    known: list[str] = []
    meta: dict[str, Any] = {}
    if kind == "PERSON":
        name, origin = person(lang)
        cue, after = rng.choice(NAME_FRAMES[lang])
        if not cue and b.text:
            b.add("\n")
        b.add(cue)
        b.slot("PERSON", name, origin=origin, cue=bool(cue))
        b.add(after)
        if rng.random() < 0.25:
            known.append(name.title())  # WhatsApp profile name
        elif rng.random() < 0.2:
            known.append(person(lang)[0])  # someone else's profile
        meta["origin"] = origin
    else:
        labels: dict[str, dict[str, list[str]]] = {
            "NATIONAL_ID": ID_LABEL,
            "PHONE_NUMBER": PHONE_LABEL,
            "EMAIL_ADDRESS": EMAIL_LABEL,
            "CREDIT_CARD": CARD_LABEL,
            "IBAN_CODE": IBAN_LABEL,
            "STREET_ADDRESS": ADDR_LABEL,
        }
        makers: dict[str, Callable[[], str]] = {
            "PHONE_NUMBER": lambda: phone(lang),
            "EMAIL_ADDRESS": lambda: FAKERS[rng.choice(LOCALES[lang])].free_email(),
            "CREDIT_CARD": card,
            "IBAN_CODE": lambda: iban(lang),
            "STREET_ADDRESS": lambda: address(lang),
        }
        b.add(rng.choice(labels[kind][lang]))
        if kind == "NATIONAL_ID":
            id_kind, value = national_id(lang)
            b.slot(kind, value, id_kind=id_kind)
            meta["id_kind"] = id_kind
        else:
            b.slot(kind, makers[kind]())
        b.add(rng.choice(TAILS[lang]))
    if rng.random() < 0.5:
        b.add(rng.choice([". ", ", ", " - "]))
        booking_phrase(b, lang)
    return {
        "lang": lang,
        "text": b.text,
        "spans": b.spans,
        "keep": b.keep,
        "known_names": known,
        "pii_free": False,
        **meta,
    }


def pii_free_message(lang: str) -> dict[str, Any]:
    b = Builder()
    greeting = rng.choice(GREETING[lang])
    if greeting:
        b.add(greeting + rng.choice([", ", " ", "! "]))
    lead = {
        "es": [
            "¿tienen hueco ",
            "quería cambiar mi cita ",
            "¿se puede reservar ",
            "¿está abierto ",
            "Perfecto, nos vemos ",
        ],
        "pt": [
            "vocês têm horário ",
            "queria remarcar ",
            "dá para marcar ",
            "estão abertos ",
            "Combinado, até ",
        ],
        "de": [
            "haben Sie noch Platz ",
            "ich möchte meinen Termin verschieben, ",
            "kann ich buchen ",
            "Perfekt, bis ",
        ],
        "en": [
            "do you have a slot ",
            "I'd like to move my appointment ",
            "can I book ",
            "Are you open ",
            "Great, see you ",
        ],
    }[lang]
    b.add(rng.choice(lead))
    booking_phrase(b, lang)
    if rng.random() < 0.4:
        b.add(
            rng.choice(
                [
                    " Dura 45 minutos.",
                    " Son 90 min.",
                    " Dauert 1 Stunde.",
                    " It takes 30 minutes.",
                    " Leva 1h.",
                ]
            )
        )
    return {"lang": lang, "text": b.text, "spans": [], "keep": b.keep, "known_names": [], "pii_free": True}


def main() -> None:
    records: list[dict[str, Any]] = []
    kinds = (
        ["PERSON"] * 6
        + ["PHONE_NUMBER"] * 2
        + ["EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "STREET_ADDRESS"]
    )
    kinds += ["NATIONAL_ID"] * 2
    for lang, count in (("es", 420), ("pt", 360), ("de", 300), ("en", 420)):
        for _ in range(count):
            records.append(pii_message(lang, rng.choice(kinds)))
        for _ in range(count // 3):
            records.append(pii_free_message(lang))
    with OUT.open("w", encoding="utf-8") as fh:
        for i, record in enumerate(records):
            fh.write(json.dumps({"id": i, **record}, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} messages to {OUT}")


if __name__ == "__main__":
    main()

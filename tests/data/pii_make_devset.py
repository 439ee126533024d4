"""Write tests/data/pii_devset.jsonl: the second DEVELOPMENT set of the redaction bench.

It covers every kind of failure the held-out test set probes (ids with wrong check digits,
SSN/RFC/passports/dates of birth, national phone formats, every card brand, compound streets
with units and postcodes, names with particles, titles and sign-offs, common words that are
surnames) with its own templates and its own seed; the value generators are shared with
``pii_make_testset.py`` (Faker in the same eight locales). Tune on this set, never on the test set.

    uv run python tests/data/pii_make_devset.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pii_make_testset as gen

OUT = Path(__file__).with_name("pii_devset.jsonl")
SEED = 20261201

PII_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "Buenos días! Quisiera reservar, mi nombre es {NAME}",
        "{NAME} aquí, confirmo la cita del {$date}",
        "te paso mi teléfono: {PHONE}",
        "llámame al {PHONE} cuando puedas",
        "DNI/NIE: {ID}",
        "Documento {ID} a nombre de {NAME}",
        "cumpleaños no, fecha de nacimiento {DOB}",
        "nacida el {DOB} en Sevilla",
        "pago con la tarjeta {CARD}",
        "IBAN para domiciliar: {IBAN}",
        "estoy en {ADDR}",
        "mi domicilio: {ADDR}",
        "correo: {EMAIL}",
        "saludos cordiales,\n{TITLED}",
        "un abrazo {FIRST}",
        "el {TITLED} me recomendó venir",
        "viene mi esposo {NAME} conmigo",
        "mi RFC {ID} por favor factura",
    ],
    "pt": [
        "Bom dia! Quero agendar, o meu nome é {NAME}",
        "{NAME} falando, confirmo {$date}",
        "meu celular: {PHONE}",
        "liga pra mim no {PHONE}",
        "CPF/NIF: {ID}",
        "documento {ID} em nome de {NAME}",
        "data nasc. {DOB}",
        "nascida em {DOB}",
        "pago no cartão {CARD}",
        "IBAN: {IBAN}",
        "estou na {ADDR}",
        "minha morada: {ADDR}",
        "e-mail: {EMAIL}",
        "cumprimentos,\n{TITLED}",
        "beijos {FIRST}",
        "a {TITLED} indicou vocês",
        "vem comigo o meu marido {NAME}",
    ],
    "de": [
        "Guten Morgen, ich möchte buchen, ich heiße {NAME}",
        "{NAME} hier, ich bestätige den {$date}",
        "meine Nummer: {PHONE}",
        "rufen Sie mich bitte unter {PHONE} zurück",
        "Ausweis: {ID}",
        "Dokument {ID} auf {NAME}",
        "Geb.-Datum {DOB}",
        "geboren {DOB} in Graz",
        "ich zahle mit Karte {CARD}",
        "IBAN für die Lastschrift: {IBAN}",
        "Adresse: {ADDR}",
        "ich wohne {ADDR}",
        "E-Mail: {EMAIL}",
        "Mit freundlichen Grüßen\n{TITLED}",
        "lg {FIRST}",
        "{TITLED} hat Sie empfohlen",
        "mein Mann {NAME} kommt mit",
    ],
    "en": [
        "Good morning, I'd like to book, I'm {NAME}",
        "{NAME} here, confirming {$date}",
        "my number: {PHONE}",
        "please call me back at {PHONE}",
        "SSN {ID}",
        "ID {ID} under {NAME}",
        "D.O.B. {DOB}",
        "my date of birth is {DOB}",
        "paying with card {CARD}",
        "IBAN {IBAN}",
        "address: {ADDR}",
        "I'm at {ADDR}",
        "e-mail: {EMAIL}",
        "Kind regards,\n{TITLED}",
        "thx {FIRST}",
        "{TITLED} referred me",
        "my husband {NAME} is coming too",
        "passport {ID}",
    ],
}
NEGATIVE_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "precio de {$svc}? {$price}?",
        "hay cita {$date} {$time}?",
        "{$svc} dura {$dur}?",
        "mesa para {$qty} a las {$time}",
        "aceptáis tarjeta de crédito?",
        "puedo cambiar el pedido?",
        "vale, {$date} a las {$time} entonces",
    ],
    "pt": [
        "preço de {$svc}? {$price}?",
        "tem vaga {$date} {$time}?",
        "{$svc} demora {$dur}?",
        "mesa para {$qty} às {$time}",
        "aceitam cartão de crédito?",
        "combinado, {$date} às {$time}",
    ],
    "de": [
        "Preis für {$svc}? {$price}?",
        "Termin {$date} {$time} frei?",
        "{$svc} dauert {$dur}?",
        "Tisch für {$qty} um {$time}",
        "Kreditkarte geht?",
        "ok, {$date} um {$time}",
    ],
    "en": [
        "price for {$svc}? {$price}?",
        "any time {$date} {$time}?",
        "{$svc} takes {$dur}?",
        "table for {$qty} at {$time}",
        "do you take credit cards?",
        "can I get a new statement?",
        "is the suite available {$date}?",
        "ok, {$date} at {$time} then",
    ],
}


def main() -> None:
    gen.PII_TEMPLATES = PII_TEMPLATES
    gen.NEGATIVE_TEMPLATES = NEGATIVE_TEMPLATES
    records = gen.build(SEED, 200)
    with OUT.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} messages to {OUT}")


if __name__ == "__main__":
    main()

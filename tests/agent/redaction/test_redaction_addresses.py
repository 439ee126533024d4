"""Street addresses in the forms chat and public English benchmarks use (cases written here)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.redaction.redactor import RedactionContext, Redactor


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # es: abbreviations, floors and doors, s/n, postcode + city
        ("vivo en C/ Alcalá 45, 3ºB, 28009 Madrid", "C/ Alcalá 45, 3ºB, 28009 Madrid"),
        (
            "mi dirección es Avda. de la Paz n.º 12, 2º izq., 41010 Sevilla",
            "Avda. de la Paz n.º 12, 2º izq., 41010 Sevilla",
        ),
        ("estoy en calle del olmo s/n, atico, 46001 valencia", "calle del olmo s/n, atico, 46001 valencia"),
        ("Callejon de la Luna 7 - bajo, Toledo (45001)", "Callejon de la Luna 7 - bajo, Toledo (45001)"),
        # es_MX: interior, colonia, C.P., state
        (
            "Calzada Tlalpan #1420 Int. 3, Col. Portales Sur, C.P. 03300 Coyoacán, CDMX",
            "Calzada Tlalpan #1420 Int. 3, Col. Portales Sur, C.P. 03300 Coyoacán, CDMX",
        ),
        # pt_BR / pt_PT
        (
            "moro na R. Haddock Lobo, 595, apto 72 - Cerqueira César, São Paulo/SP, CEP 01414-001",
            "R. Haddock Lobo, 595, apto 72 - Cerqueira César, São Paulo/SP, CEP 01414-001",
        ),
        ("morada: Tv. do Carmo 14, 2.º Dto., 1200-095 Lisboa", "Tv. do Carmo 14, 2.º Dto., 1200-095 Lisboa"),
        (
            "entrega em praceta das rosas 9 r/c esq 4450-123 matosinhos",
            "praceta das rosas 9 r/c esq 4450-123 matosinhos",
        ),
        # de / at: compounds, preposition streets, floors, Top, A-/D- postcodes
        ("Adresse: Lindenstr. 8a, 2. OG links, 10115 Berlin", "Lindenstr. 8a, 2. OG links, 10115 Berlin"),
        ("ich wohne Am Mühlgraben 3, D-01067 Dresden", "Am Mühlgraben 3, D-01067 Dresden"),
        ("Mariahilfer Straße 101/2/14, A-1060 Wien", "Mariahilfer Straße 101/2/14, A-1060 Wien"),
        ("ich wohne in der hamburger gasse 12", "hamburger gasse 12"),
        # en: number first, ranges, ordinals, units, ZIP+4, UK postcodes, PO boxes
        (
            "ship to 1200-1202 W 34th St Apt 5C, Austin, TX 78705-1234",
            "1200-1202 W 34th St Apt 5C, Austin, TX 78705-1234",
        ),
        ("address: 77 maple ave ste 300 springfield il 62704", "77 maple ave ste 300 springfield il 62704"),
        ("Flat 4, 21 Kingsway, London WC2B 6UN", "Flat 4, 21 Kingsway, London WC2B 6UN"),
        ("send it to P.O. Box 4471, Boise, ID 83711", "P.O. Box 4471, Boise, ID 83711"),
        ("Caixa Postal 1234, Recife - PE", "Caixa Postal 1234, Recife - PE"),
        # no house number: a street line kept because a postcode follows; military addresses
        (
            "Rua das Acácias\nJardim Europa\n13045-220 Campinas / SP",
            "Rua das Acácias\nJardim Europa\n13045-220 Campinas / SP",
        ),
        ("PSC 1234, Box 5678\nAPO AE 09012", "PSC 1234, Box 5678\nAPO AE 09012"),
        ("Studio 4\nMarlow Gardens\nReading\nRG1 3AB", "Studio 4\nMarlow Gardens\nReading\nRG1 3AB"),
        ("I live at 48 Mayo Place Apt. 3, Dover, DE 19901", "48 Mayo Place Apt. 3, Dover, DE 19901"),
        # a street named without its number
        ("I live on Juniper Boulevard", "Juniper Boulevard"),
        ("moro na Rua Visconde de Pirajá", "Rua Visconde de Pirajá"),
        ("ich wohne in der Kastanienallee", "Kastanienallee"),
        ("dirección de entrega: Plaza de Cervantes", "Plaza de Cervantes"),
        ("mi dirección es calle del pez", "calle del pez"),
    ],
)
def test_whole_address_is_redacted(leaked: Callable[[str, str], str], text: str, value: str) -> None:
    assert leaked(text, value) == ""


@pytest.mark.parametrize(
    "text",
    [
        "take exit 23 off the highway",
        "it's a 10 minute walk from the station",
        "Am Montag 14 Uhr passt",
        "la plaza 2 tiene sombra?",
        "we're on the 2nd floor, room 12",
        "mesa para 4 a las 21:00",
        "nos vemos en Madrid y mañana en Sevilla",
        "Rua nova? abre amanhã",
        "Vamos a la Plaza Mayor a las 5",
        "Do you have parking on the Main Road?",
        "la calle está cortada, llego tarde",
        "Gibt es einen Parkplatz?",
    ],
)
def test_look_alikes_stay(redactor: Redactor, ctx: RedactionContext, text: str) -> None:
    spans, _ = redactor.find(text, ctx)
    assert [s for s in spans if s.type == "STREET_ADDRESS"] == []

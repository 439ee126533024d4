"""Word lists the recognizers share: allow-lists, stop words, name cues and the name gazetteer.

The gazetteer is the US census first-name and surname lists shipped in the MIT-licensed
``names`` package (no download at run time). Everything is lower-cased and accent-folded.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from importlib import resources

import faker.providers.person as faker_person
from spacy.lang.de.stop_words import STOP_WORDS as _DE_STOP
from spacy.lang.en.stop_words import STOP_WORDS as _EN_STOP
from spacy.lang.es.stop_words import STOP_WORDS as _ES_STOP
from spacy.lang.pt.stop_words import STOP_WORDS as _PT_STOP
from wordfreq import top_n_list

from textnorm import fold


def _folded(words: str) -> frozenset[str]:
    return frozenset(fold(w) for w in words.split())


WEEKDAYS = _folded(
    """monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    lunes martes miércoles jueves viernes sábado domingo
    segunda terça quarta quinta sexta sábado domingo segunda-feira terça-feira quarta-feira
    quinta-feira sexta-feira
    montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag mo di mi do fr sa so"""
)
MONTHS = _folded(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
    janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro
    januar jänner februar märz april mai juni juli august september oktober november dezember"""
)
GREETINGS = _folded(
    """hi hello hey hiya howdy morning afternoon evening good thanks thank cheers bye goodbye please
    hola buenas buenos días dias tardes noches saludos gracias adiós adios chao chau vale perfecto
    olá ola oi bom boa dia tarde noite obrigado obrigada abraço abraços beijos tchau valeu
    hallo guten gute morgen tag abend servus moin grüß gruß grüße gruss danke bitte tschüss tschüs
    liebe lieber sehr geehrte geehrter herzliche viele vielen dank"""
)
# Calendar and booking words that must never become a name.
CALENDAR_WORDS = _folded(
    """today tomorrow tonight yesterday week weekend next last morning noon midnight am pm
    hoy mañana manana pasado semana fin finde tarde noche mediodía
    hoje amanhã ontem semana fim manhã tarde noite
    heute morgen übermorgen gestern woche wochenende vormittag nachmittag abend mittag uhr"""
)
# Words often typed capitalised or written lower-case that are also names in the census lists.
AMBIGUOUS_NAMES = _folded(
    """will may june april august mark rose grace hope joy faith bill sun dean art ray rich
    guy pat sue gay carol chase hunter lane page paris summer winter autumn dawn ruby amber
    jade crystal star sky river rock stone king price hall bell young white black brown green
    gray grey long short little love lee mae ma pa bo jo don al an son la le de da do du del dos
    das der den van von ben dan tim tom ed sam max mo jan mar sol luz paz cruz angel jesus
    rosario dolores mercedes pilar consuelo amparo socorro gloria victoria esperanza aurora
    will wally patience prince princess major judge earl duke baron royal early else ok
    nail nails cut color colour wash massage spa reserva cita termin uhr hair"""
)
# Words that a receptionist chat is full of and that the census lists call names.
COMMON_WORDS = _folded(
    """book booking appointment cancel change reschedule price cost time date hour hours minute
    minutes service services haircut cut colour color treatment session class table room
    confirm confirmed available free call message number email address street road card pay
    cita reserva reservar cancelar cambiar precio hora horas minutos servicio corte tinte sesión
    mesa clase confirmar disponible libre llamar mensaje número correo dirección calle tarjeta
    pagar marcación marcar agendar preço horário serviço corte sessão aula mesa disponível
    ligar mensagem número endereço rua cartão pagar termin buchen absagen verschieben preis zeit
    datum stunde minuten dienst haarschnitt schnitt farbe behandlung sitzung tisch kurs frei
    bestätigen anrufen nachricht nummer adresse straße strasse karte zahlen yes no sí si sim não
    nein ja okay ok great perfect sure fine cool genial claro certo ótimo super prima gerne
    quiero quería queria puedo puede podría tengo tiene necesito quero queria posso pode preciso
    tenho möchte moechte kann könnte brauche habe hätte want need would could can like have"""
)

# Durations and booking replies that a name heuristic could otherwise take for a name.
DURATION_WORDS = _folded(
    """min mins minute minutes minuto minutos hora horas hr hrs h std stunde stunden minuten sekunden
    dura duran dauert dauern leva levam takes last lasts combinado perfeito perfecto fechado
    beleza tranquilo claro genau passt super alles gerne"""
)

# Labels customers put before an identifier.
LABEL_WORDS = _folded(
    """id iban bic swift cpf cnpj dni nie nif rfc curp cuit cuil rg nss ssn tel tlf telf telefone teléfono
    telefon handy móvil movil celular mobile phone whatsapp mail email e-mail correo ausweis
    ausweisnummer personalausweis steuer-id steuernummer kreditkarte karte visa mastercard amex
    maestro passport pasaporte passaporte reisepass"""
)

STOP_WORDS: frozenset[str] = frozenset(
    fold(w) for w in (*_EN_STOP, *_ES_STOP, *_PT_STOP, *_DE_STOP)
) | _folded("i'm im i've i'll i'd it's that's we're we'll you're ich bin soy sou")

NEVER_NAMES: frozenset[str] = (
    WEEKDAYS | MONTHS | GREETINGS | CALENDAR_WORDS | COMMON_WORDS | DURATION_WORDS | LABEL_WORDS | STOP_WORDS
)

NEVER_SURNAMES: frozenset[str] = frozenset(
    w for w in WEEKDAYS | MONTHS | GREETINGS | CALENDAR_WORDS | DURATION_WORDS if len(w) > 3
)
"""Words that cannot continue a capitalised name even mid-sentence (unlike "Bueno", "Mas")."""

GERMAN_DETERMINERS = _folded(
    """der die das den dem des ein eine einen einem einer eines mein meine meinen meinem meiner
    dein deine sein seine ihr ihre ihren ihrem unser unsere euer eure kein keine"""
)

NAME_PARTICLES = _folded(
    "de da do das dos del la van von der den ter al el bin ben ibn di du le mac mc y e i zu vom zum"
)
TITLES = _folded(
    """mr mrs ms miss mx dr dra doctor doctora sr sra srta señor señora señorita don doña dña dona senhor
    senhora herr herrn frau prof profa profe lic licda licenciado licenciada ing ingeniero ingeniera
    arq mtro mtra eng sir dame mag dipl"""
)
# Closings after which the rest of the message (1–4 words) is the writer's name.
SIGN_OFFS: tuple[str, ...] = (
    "saludos cordiales",
    "un saludo",
    "saludos",
    "atentamente",
    "atte",
    "besos",
    "un beso",
    "abrazos",
    "un abrazo",
    "muchas gracias",
    "gracias",
    "cumprimentos",
    "atenciosamente",
    "abraços",
    "abraço",
    "beijos",
    "beijo",
    "bjs",
    "obrigado",
    "obrigada",
    "att",
    "valeu",
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "viele grüße",
    "liebe grüße",
    "beste grüße",
    "herzliche grüße",
    "grüße",
    "gruß",
    "mfg",
    "lg",
    "vg",
    "danke",
    "kind regards",
    "best regards",
    "warm regards",
    "regards",
    "best wishes",
    "best",
    "cheers",
    "many thanks",
    "thanks",
    "thank you",
    "thx",
    "sincerely",
    "yours",
    "love",
    "xoxo",
)

# Cue phrases that introduce a person's name. "Strong" cues accept a lower-case or unknown
# word as a name; "weak" cues (a word that is also a common verb or preposition) need a
# capitalised word or a gazetteer first name after them.
_IDENTITY_CUES: tuple[str, ...] = (
    # es
    "me llamo",
    "mi nombre es",
    "a nombre de",
    "de parte de",
    "le escribe",
    "te escribe",
    "se llama",
    "nombre:",
    "mi hijo",
    "mi hija",
    "mi marido",
    "mi esposo",
    "mi esposa",
    "mi mujer",
    "mi madre",
    "mi padre",
    "mi novia",
    "mi novio",
    "mi hermano",
    "mi hermana",
    "mi abuela",
    "mi abuelo",
    # pt
    "me chamo",
    "meu nome é",
    "meu nome e",
    "em nome de",
    "aqui é",
    "aqui e",
    "aqui fala",
    "se chama",
    "nome:",
    "meu filho",
    "minha filha",
    "meu marido",
    "minha esposa",
    "minha mulher",
    "minha mãe",
    "meu pai",
    "minha namorada",
    "meu namorado",
    "meu irmão",
    "minha irmã",
    "minha avó",
    "meu avô",
    # de
    "ich heiße",
    "ich heisse",
    "mein name ist",
    "auf den namen",
    "im namen von",
    "hier ist",
    "hier spricht",
    "name:",
    "mein sohn",
    "meine tochter",
    "mein mann",
    "meine frau",
    "meine mutter",
    "mein vater",
    "meine freundin",
    "mein freund",
    "mein bruder",
    "meine schwester",
    "heißt",
    "heisst",
    # en
    "my name is",
    "my name's",
    "name is",
    "under the name",
    "in the name of",
    "on behalf of",
    "this is",
    "my son",
    "my daughter",
    "my husband",
    "my wife",
    "my mom",
    "my mum",
    "my mother",
    "my father",
    "my dad",
    "my partner",
    "my girlfriend",
    "my boyfriend",
    "my brother",
    "my sister",
    "called",
    "named",
)
# Booking phrases that introduce who the appointment is for or who comes along.
_BOOKING_CUES: tuple[str, ...] = (
    "reserva para",
    "reservar para",
    "cita para",
    "turno para",
    "vengo con",
    "voy con",
    "viene con",
    "puede atenderme",
    "atender a",
    "marca para",
    "marcar para",
    "agendar para",
    "agenda para",
    "vou com",
    "venho com",
    "vai com",
    "reserva em nome de",
    "bitte für",
    "termin für",
    "komme mit",
    "kommt mit",
    "booking for",
    "book for",
    "book in",
    "appointment for",
    "coming with",
    "put it under",
    "reserve for",
    "table for",
)
STRONG_CUES: tuple[str, ...] = _IDENTITY_CUES + _BOOKING_CUES
# German capitalises every noun ("für Massage"), so after these a capitalised word is a name only
# if it is a census first name, follows a title, or is followed by another capitalised word.
GERMAN_CUES: frozenset[str] = frozenset(
    {"für", "fuer", "mit", "und", "ich bin", "bitte für", "termin für", "komme mit", "kommt mit"}
)
WEAK_CUES: tuple[str, ...] = (
    "soy",
    "sou",
    "sou o",
    "sou a",
    "ich bin",
    "i'm",
    "i am",
    "im",
    "it's",
    "its",
    "para",
    "for",
    "con",
    "com",
    "mit",
    "with",
    "für",
    "fuer",
    "y",
    "e",
    "und",
    "and",
    "o",
    "a",
)


def _census_names(resource: str, limit: int) -> frozenset[str]:
    text = resources.files("names").joinpath(resource).read_text(encoding="ascii")
    out: set[str] = set()
    for line in text.splitlines()[:limit]:
        word = line.split(" ", 1)[0].strip()
        if len(word) >= 2:
            out.add(word.lower())
    return frozenset(out)


def _latin(word: str) -> bool:
    return len(word) >= 2 and all(ch.isalpha() and ord(ch) < 0x250 for ch in word)


def _faker_list(provider: object, *attributes: str) -> Iterable[str]:
    for attribute in attributes:
        entries = getattr(provider, attribute, ())
        if isinstance(entries, dict | tuple | list | set | frozenset):
            for entry in entries:  # pyright: ignore[reportUnknownVariableType]
                yield from str(entry).replace("-", " ").split()


@cache
def faker_names() -> tuple[frozenset[str], frozenset[str]]:
    """First names and surnames (folded, Latin script) of every Faker person locale: a public,
    multilingual name list beside the US census one."""
    firsts: set[str] = set()
    lasts: set[str] = set()
    for module in pkgutil.iter_modules(faker_person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        firsts.update(
            fold(w)
            for w in _faker_list(provider, "first_names", "first_names_male", "first_names_female")
            if _latin(w)
        )
        lasts.update(fold(w) for w in _faker_list(provider, "last_names") if _latin(w))
    return frozenset(firsts), frozenset(lasts)


@cache
def first_names() -> frozenset[str]:
    """Census and Faker first names (folded), minus words that are more often something else."""
    raw = _census_names("dist.female.first", 5000) | _census_names("dist.male.first", 2000) | faker_names()[0]
    return frozenset(n for n in raw if n not in NEVER_NAMES and n not in AMBIGUOUS_NAMES)


@cache
def surnames() -> frozenset[str]:
    """Census and Faker surnames (folded), minus stop and allow-listed words."""
    raw = _census_names("dist.all.last", 40000) | faker_names()[1]
    return frozenset(n for n in raw if n not in NEVER_NAMES and n not in AMBIGUOUS_NAMES)


FREQUENT_RANK = 10000
"""A word among a language's 10,000 most frequent (wordfreq) is a common word first."""


@cache
def frequent_words(lang: str) -> frozenset[str]:
    """The language's most frequent words (folded), from wordfreq's offline lists."""
    return frozenset(fold(w) for w in top_n_list(lang, FREQUENT_RANK))


def is_frequent(key: str, lang: str) -> bool:
    """True when ``key`` is a frequent common word in ``lang`` or in English (chat lingua franca)."""
    return key in frequent_words(lang) or key in frequent_words("en")


KNOWN_RANK = 60000


@cache
def known_words(lang: str) -> frozenset[str]:
    """The language's 60,000 most frequent words (folded): beyond them a word is rare."""
    return frozenset(fold(w) for w in top_n_list(lang, KNOWN_RANK))


def is_known_word(key: str, lang: str) -> bool:
    return key in known_words(lang) or key in known_words("en")


_GERMAN_NOUN_ENDINGS = ("ung", "heit", "keit", "schaft", "pflege", "behandlung", "reinigung", "schnitt")


def looks_german(key: str) -> bool:
    """A German compound noun rather than a name ("zahnreinigung", "fußpflege")."""
    return "ß" in key or key.endswith(_GERMAN_NOUN_ENDINGS) or ("ü" in key and key not in first_names())


@cache
def german_only_words() -> frozenset[str]:
    """Frequent German words that are not frequent in English, Spanish or Portuguese."""
    return frequent_words("de") - frequent_words("en") - frequent_words("es") - frequent_words("pt")


def warm_word_lists() -> None:
    """Load the gazetteers and frequency lists now, not on the first message that needs them."""
    first_names()
    surnames()
    for lang in ("en", "es", "pt", "de"):
        frequent_words(lang)
        known_words(lang)
    german_only_words()


# An article before a capitalised word makes it a thing ("the Baker massage", "o Banho Rosa"):
# always for these, and for the weak ones unless the word is a first name ("a Maria").
ARTICLES = _folded("the an el los las un una der das den dem des ein eine einen einem einer um uma os")
WEAK_ARTICLES = _folded("a o la die as da do na no")

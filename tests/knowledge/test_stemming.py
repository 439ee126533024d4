"""Stems are the same in every thread: a worker runs many turns at once, and a stem computed
wrong while another thread stemmed would stay wrong in the caches above it."""

from __future__ import annotations

import threading

from knowledge.stemming import snowball_stem
from textnorm import Language

WORDS: dict[Language, list[str]] = {
    "es": ["blanqueamiento", "ortodoncia", "limpiezas", "extracciones", "cuestan", "horarios"],
    "pt": ["clareamento", "consultas", "atendimento", "marcações", "dentistas", "funcionamento"],
    "de": ["Zahnreinigungen", "Öffnungszeiten", "Behandlungen", "Terminvereinbarung", "kostet"],
    "en": ["whitening", "appointments", "cleanings", "extractions", "opening", "hours"],
}


def test_threads_stemming_at_once_get_the_stems_one_thread_gets() -> None:
    expected: dict[tuple[str, Language], str] = {
        (w, lang): snowball_stem(w.lower(), lang) for lang, ws in WORDS.items() for w in ws
    }
    wrong: list[tuple[str, str, str]] = []
    start = threading.Barrier(8)

    def stem_all() -> None:
        start.wait()
        for _ in range(300):
            for (word, lang), stem in expected.items():
                try:
                    got = snowball_stem(word.lower(), lang)
                except IndexError as exc:  # what a shared stemmer raises
                    got = repr(exc)
                if got != stem:
                    wrong.append((word, stem, got))

    threads = [threading.Thread(target=stem_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []

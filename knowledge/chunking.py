"""Chunking that follows the document's structure: one paragraph or list item per chunk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.formats import Block

HEADING_SEPARATOR = " › "
MAX_CHUNK_CHARS = 1_000
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"'«¿¡(]?[A-ZÁÉÍÓÚÑÄÖÜÂÊÔÃÕÇ0-9])")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable unit with its heading path (outermost first) for citations."""

    ordinal: int
    heading_path: tuple[str, ...]
    text: str
    kind: str

    @property
    def heading(self) -> str:
        """The heading path joined for display, e.g. 'Precios › Cortes'."""
        return HEADING_SEPARATOR.join(self.heading_path)


def split_long(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Split an over-long paragraph at sentence ends (or spaces) into pieces under the limit."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE.split(text):
        while len(sentence) > limit:  # one huge "sentence": cut at the last space before the limit
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            head, sentence = sentence[:cut].strip(), sentence[cut:].strip()
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def chunk_blocks(blocks: list[Block], *, limit: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Turn blocks into chunks: headings set the path; each paragraph and item is a unit."""
    path: list[tuple[int, str]] = []
    chunks: list[Chunk] = []
    for block in blocks:
        if block.kind == "heading":
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text))
            continue
        text = block.text.strip()
        if len(text) < 2:
            continue
        heading = tuple(title for _, title in path)
        for piece in split_long(text, limit):
            chunks.append(Chunk(len(chunks), heading, piece, block.kind))
    return chunks

"""Format detection from content, size limits, and parsing into structural blocks."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from knowledge.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    UnsupportedFormat,
)


class Format(StrEnum):
    """Document formats the knowledge base ingests."""

    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"


BlockKind = Literal["heading", "paragraph", "item"]


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit: a heading (with level), a paragraph or a list item / table row."""

    kind: BlockKind
    text: str
    level: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits enforced at ingest."""

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 2_000
    max_chars: int = 5_000_000
    max_unzipped_bytes: int = 100 * 1024 * 1024


@dataclass(slots=True)
class ParsedDocument:
    """A parsed document: its format, title (if the content names one), blocks and page count."""

    format: Format
    title: str | None
    blocks: list[Block] = field(default_factory=list[Block])
    pages: int = 1


_BINARY_MAGIC: dict[bytes, str] = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7z archive",
    b"OggS": "an audio file",
    b"ID3": "an audio file",
    b"RIFF": "a media file",
}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG = re.compile(r"</?(p|div|h[1-6]|ul|ol|li|table|tr|td|br|span|a|section|article)\b[^>]*>", re.I)
_MD_SIGNS = (
    re.compile(r"^#{1,6}\s+\S", re.M),
    re.compile(r"^\s*[-*+]\s+\S", re.M),
    re.compile(r"^\s*\|.*\|\s*$\n^\s*\|?\s*:?-{3,}", re.M),
    re.compile(r"\*\*[^*\n]+\*\*|\[[^\]\n]+\]\([^)\s]+\)"),
    re.compile(r"^\S.*\n(=+|-+)\s*$", re.M),
)


def detect_format(data: bytes) -> Format:
    """Detect the format from the bytes themselves (never from a file name)."""
    head = data[:2048]
    if head.lstrip()[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return Format.PDF
    if head.startswith(b"PK\x03\x04"):
        return _detect_zip(data)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise EncryptedDocument(
            "this is an OLE compound file: an encrypted Office document or a legacy .doc; "
            "save it as an unprotected .docx or PDF"
        )
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise UnsupportedFormat(f"unsupported format: the file is {what}")
    text = decode_text(data)
    if _HTML_START.match(data[:4096]) or len(_HTML_TAG.findall(text[:20_000])) >= 3:
        return Format.HTML
    signs = sum(1 for pattern in _MD_SIGNS if pattern.search(text[:100_000]))
    return Format.MARKDOWN if signs >= 1 else Format.TEXT


def _detect_zip(data: bytes) -> Format:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CorruptDocument(f"corrupt ZIP/DOCX container: {exc}") from exc
    if "word/document.xml" in names:
        return Format.DOCX
    if "EncryptedPackage" in names:
        raise EncryptedDocument("the document is password-protected")
    raise UnsupportedFormat("unsupported format: a ZIP archive that is not a Word document")


def decode_text(data: bytes) -> str:
    """Decode text bytes: BOMs, UTF-8, else Windows-1252; NUL bytes mean binary."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        raise UnsupportedFormat("unsupported format: binary content that is not PDF or DOCX")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse(data: bytes, limits: Limits | None = None) -> ParsedDocument:
    """Detect the format, enforce limits and parse the content into blocks."""
    limits = limits or Limits()
    if not data.strip():
        raise EmptyDocument("the file is empty")
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(f"the file has {len(data):,} bytes; the limit is {limits.max_bytes:,}")
    fmt = detect_format(data)
    # Imported here: the parsers module imports this one for Block and Format.
    from knowledge import parsers

    if fmt is Format.PDF:
        doc = parsers.parse_pdf(data, limits)
    elif fmt is Format.DOCX:
        doc = parsers.parse_docx(data, limits)
    else:
        text = decode_text(data)
        if len(text) > limits.max_chars:
            raise DocumentTooLarge(
                f"the text has {len(text):,} characters; the limit is {limits.max_chars:,}"
            )
        doc = parsers.parse_html(text) if fmt is Format.HTML else parsers.parse_markup(text, fmt)
    if not any(block.kind != "heading" for block in doc.blocks):
        if fmt is Format.PDF:
            raise EmptyDocument("the PDF has no text layer to index (a scanned PDF needs OCR first)")
        raise EmptyDocument(f"the file has no readable text ({fmt.value} without text to index)")
    return doc

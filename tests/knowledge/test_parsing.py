"""Format detection from content, limits, rejection of bad files, structural chunking."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from knowledge.chunking import chunk_blocks, split_long
from knowledge.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    UnsupportedFormat,
)
from knowledge.formats import Format, Limits, detect_format, parse
from knowledge.pdfgen import text_pdf


def _docx(paragraphs: list[tuple[str, str]]) -> bytes:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>'
        if style
        else f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
        for style, text in paragraphs
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml", f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
        )
    return buffer.getvalue()


def test_format_comes_from_content_not_name() -> None:
    assert detect_format(b"# Precios\n\n- Corte: 15 EUR\n") is Format.MARKDOWN
    assert detect_format(b"<!doctype html><html><body><p>Hola</p></body></html>") is Format.HTML
    assert detect_format(b"Just a plain note.\nNothing else.") is Format.TEXT
    assert detect_format(text_pdf([["Hello"]])) is Format.PDF
    assert detect_format(_docx([("", "Hallo")])) is Format.DOCX


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, UnsupportedFormat),
        (b"PK\x03\x04garbage-not-a-zip", CorruptDocument),
        (b"%PDF-1.4\n1 0 obj <<>> garbage", CorruptDocument),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, EncryptedDocument),
        (b"   \n\n  ", EmptyDocument),
        (b"\x00\x01\x02binary", UnsupportedFormat),
    ],
)
def test_bad_files_are_rejected_with_a_clear_error(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse(data)
    assert str(caught.value)


def test_encrypted_pdf_is_rejected() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["Geheim"]]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(EncryptedDocument, match="password"):
        parse(out.getvalue())


def test_size_limits() -> None:
    with pytest.raises(DocumentTooLarge):
        parse(b"x" * 2_000, Limits(max_bytes=1_000))
    with pytest.raises(DocumentTooLarge):
        parse(text_pdf([["a"], ["b"], ["c"]]), Limits(max_pages=2))


def test_markdown_price_list_is_one_chunk_per_item_with_heading_path() -> None:
    doc = parse(
        "# Peluquería Sol\n\nSomos una peluquería.\n\n## Precios\n\n| Servicio | Precio |\n|---|---|\n"
        "| Corte | 15 € |\n| Tinte | 40 € |\n\n- Mechas: 55 €\n  con tratamiento\n".encode()
    )
    assert doc.title == "Peluquería Sol"
    chunks = chunk_blocks(doc.blocks)
    assert [c.text for c in chunks] == [
        "Somos una peluquería.",
        "Servicio: Corte · Precio: 15 €",
        "Servicio: Tinte · Precio: 40 €",
        "Mechas: 55 € con tratamiento",
    ]
    assert chunks[1].heading == "Peluquería Sol › Precios"


def test_html_structure_and_noise() -> None:
    doc = parse(
        b"<html><head><title>Taller</title><script>var x=1</script></head><body><nav>Inicio</nav>"
        b"<h2>Precios</h2><ul><li>Cambio de aceite: 60 &euro;</li><li>ITV: 40 &euro;</li></ul>"
        b"<table><tr><th>D\xc3\xada</th><th>Hora</th></tr><tr><td>Lunes</td><td>9-18</td></tr></table></body></html>"
    )
    chunks = chunk_blocks(doc.blocks)
    assert doc.title == "Taller"
    assert [c.text for c in chunks] == ["Cambio de aceite: 60 €", "ITV: 40 €", "Día: Lunes · Hora: 9-18"]
    assert all(c.heading == "Precios" for c in chunks)


def test_plain_text_and_pdf_headings_and_price_lines() -> None:
    lines = [
        "PRECIOS",
        "Barra de pan 1,20 €",
        "Croissant 1,50 €",
        "HORARIO",
        "Abrimos todos los días a las 7.",
    ]
    for data in ("\n\n".join(["PRECIOS", "\n".join(lines[1:3]), *lines[3:]]).encode(), text_pdf([lines])):
        chunks = chunk_blocks(parse(data).blocks)
        assert [(c.heading, c.text) for c in chunks] == [
            ("PRECIOS", "Barra de pan 1,20 €"),
            ("PRECIOS", "Croissant 1,50 €"),
            ("HORARIO", "Abrimos todos los días a las 7."),
        ]


def test_docx_headings_and_title() -> None:
    doc = parse(
        _docx([("Title", "Bäckerei Korn"), ("Heading2", "Preise"), ("ListParagraph", "Brezel 0,90 €")])
    )
    assert doc.format is Format.DOCX and doc.title == "Bäckerei Korn"
    assert [(c.heading, c.text) for c in chunk_blocks(doc.blocks)] == [
        ("Bäckerei Korn › Preise", "Brezel 0,90 €")
    ]


def test_long_paragraphs_split_at_sentences() -> None:
    text = " ".join(f"Frase número {i} con bastante texto para ocupar sitio." for i in range(100))
    pieces = split_long(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert " ".join(pieces) == text

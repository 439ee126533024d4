"""Parsers for Markdown / plain text, HTML, PDF and DOCX into structural blocks."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree

from knowledge.errors import CorruptDocument, DocumentTooLarge, EncryptedDocument
from knowledge.formats import Block, Format, Limits, ParsedDocument

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+•·▪◦–]|\d{1,3}[.)]|[a-z][.)])\s+(.*\S)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HR = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_MD_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)|\[([^\]]+)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*\*|__|`+|~~)")
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[.!?:;)\]»\"]$")


def clean_inline(text: str) -> str:
    """Strip Markdown inline markup and collapse whitespace."""
    text = _MD_LINK.sub(lambda m: m.group(1) or "", text)
    text = _MD_EMPH.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _join_wrapped(lines: list[str]) -> list[str]:
    """Re-join lines wrapped mid-sentence: a long line followed by one starting in lower case."""
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) > 50 and line[:1].islower() and not _SENTENCE_END.search(out[-1]):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def _looks_like_list_lines(lines: list[str]) -> bool:
    """A block of short lines that mostly carry numbers reads as a price list: one item per line."""
    if len(lines) < 2 or any(len(line) > 160 for line in lines):
        return False
    with_digits = sum(1 for line in lines if _DIGIT.search(line))
    return with_digits >= 0.6 * len(lines)


def _text_heading(line: str) -> int:
    """Heading level of a lone plain-text line, or 0: ALL CAPS (1) or 'Title:' lines (2)."""
    stripped = line.strip()
    if not stripped or len(stripped) > 70 or stripped[-1] in ".,;!?":
        return 0
    letters = [c for c in stripped if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters):
        return 1
    if stripped.endswith(":") and len(stripped.split()) <= 8 and not _DIGIT.search(stripped):
        return 2
    return 0


def _lines_to_blocks(lines: list[str], *, plain: bool) -> list[Block]:
    """Turn a run of non-blank lines (no Markdown structure) into paragraph or item blocks."""
    cleaned = [clean_inline(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    if not cleaned:
        return []
    if plain and len(cleaned) == 1 and (level := _text_heading(cleaned[0])):
        return [Block("heading", cleaned[0].rstrip(":"), level)]
    if plain and len(cleaned) > 1 and (level := _text_heading(cleaned[0])):
        return [Block("heading", cleaned[0].rstrip(":"), level), *_lines_to_blocks(cleaned[1:], plain=plain)]
    if plain and (inner := next((i for i, line in enumerate(cleaned) if _text_heading(line) == 1), 0)):
        return [
            *_lines_to_blocks(cleaned[:inner], plain=plain),
            *_lines_to_blocks(cleaned[inner:], plain=plain),
        ]
    segments = _join_wrapped(cleaned)
    if _looks_like_list_lines(segments):
        return [Block("item", line) for line in segments]
    return [Block("paragraph", " ".join(cleaned))]


def _table_cells(line: str) -> list[str]:
    match = _TABLE_ROW.match(line)
    inner = match.group(1) if match else line
    return [clean_inline(cell) for cell in inner.split("|")]


def row_text(cells: list[str], header: list[str] | None) -> str:
    """One table row as text, labelled with the header cells when there are some."""
    cells = [c for c in cells]
    if header and len(header) == len(cells):
        parts = [f"{h}: {c}" if h and c else c for h, c in zip(header, cells, strict=True)]
    else:
        parts = cells
    return " · ".join(p for p in parts if p)


def parse_markup(text: str, fmt: Format) -> ParsedDocument:
    """Parse Markdown or plain text: ATX/setext headings, list items, tables and paragraphs."""
    plain = fmt is Format.TEXT
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    para: list[str] = []
    item: list[str] | None = None
    header: list[str] | None = None
    in_fence = False

    def flush() -> None:
        nonlocal item, para
        if item is not None:
            text_ = clean_inline(" ".join(item))
            if text_:
                blocks.append(Block("item", text_))
            item = None
        if para:
            blocks.extend(_lines_to_blocks(para, plain=plain))
            para = []

    for index, line in enumerate(lines):
        if line.strip().startswith(("```", "~~~")):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            para.append(line)
            continue
        if not line.strip():
            flush()
            header = None
            continue
        if (m := _ATX.match(line)) and not plain:
            flush()
            blocks.append(Block("heading", clean_inline(m.group(2)), len(m.group(1))))
            continue
        if _SETEXT.match(line) and len(para) == 1 and item is None and not _TABLE_SEP.match(para[0]):
            title = clean_inline(para[0])
            para = []
            blocks.append(Block("heading", title, 1 if line.strip()[0] == "=" else 2))
            continue
        if _HR.match(line):
            flush()
            continue
        if _TABLE_ROW.match(line):
            flush()
            nxt = lines[index + 1] if index + 1 < len(lines) else ""
            if _TABLE_SEP.match(line):
                continue
            if header is None and _TABLE_SEP.match(nxt):
                header = _table_cells(line)
                continue
            row = row_text(_table_cells(line), header)
            if row:
                blocks.append(Block("item", row))
            continue
        if m := _ITEM.match(line):
            flush()
            item = [m.group(1)]
            continue
        if item is not None and (line.startswith((" ", "\t")) or not plain):
            item.append(line.strip())
            continue
        if item is not None:
            flush()
        para.append(line)
    flush()
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return ParsedDocument(fmt, title, blocks)


# --- HTML ------------------------------------------------------------------------------------

_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "head", "iframe", "object"}
_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote", "pre",
    "form", "address", "figure", "figcaption", "dl", "ul", "ol", "table", "body", "html", "hr",
}  # fmt: skip
_HEADINGS = {f"h{i}": i for i in range(1, 7)}


class _HTMLBlocks(HTMLParser):
    """Collect headings, paragraphs, list items, definition pairs and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title: str | None = None
        self._buf: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading = 0
        self._items: list[list[str]] = []
        self._dt: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._header: list[str] | None = None
        self._row_all_th = True

    def _text(self) -> str:
        out = "".join(self._buf)
        self._buf = []
        return out

    def _flush(self) -> None:
        raw = self._text()
        lines = [line for line in raw.split("\n") if line.strip()]
        if lines:
            self.blocks.extend(_lines_to_blocks(lines, plain=False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP and tag != "head":
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
            return
        if self._skip:
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag == "li":
            if self._items:
                self._items[-1].append(self._text())
            else:
                self._flush()
            self._items.append([])
        elif tag in ("dt", "dd"):
            self._flush()
        elif tag == "tr":
            self._flush()
            self._row, self._row_all_th = [], True
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row_all_th = self._row_all_th and tag == "th"
        elif tag == "br":
            self._buf.append("\n")
        elif tag in _BLOCK and not self._items and self._cell is None:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and tag != "head":
            self._skip = max(0, self._skip - 1)
            return
        if tag == "title":
            self._in_title = False
            return
        if self._skip:
            return
        if tag in _HEADINGS and self._heading:
            text = clean_inline(self._text())
            if text:
                self.blocks.append(Block("heading", text, self._heading))
            self._heading = 0
        elif tag == "li" and self._items:
            parts = self._items.pop()
            parts.append(self._text())
            text = clean_inline(" ".join(parts))
            parent = clean_inline(self._items[-1][0]) if self._items and self._items[-1] else ""
            if parent and text:
                text = f"{parent}: {text}"
            if text:
                self.blocks.append(Block("item", text))
        elif tag == "dt":
            self._dt = clean_inline(self._text())
        elif tag == "dd":
            text = clean_inline(self._text())
            label = f"{self._dt}: " if self._dt else ""
            if text:
                self.blocks.append(Block("item", label + text))
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(clean_inline("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row_all_th and self._header is None:
                self._header = self._row
            else:
                text = row_text(self._row, self._header)
                if text:
                    self.blocks.append(Block("item", text))
            self._row = None
        elif tag == "table":
            self._header = None
        elif tag in _BLOCK and not self._items and self._cell is None:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = clean_inline((self.title or "") + " " + data) or None
            return
        if self._skip:
            return
        text = data.replace("\n", " ")
        if self._cell is not None:
            self._cell.append(text)
        else:
            self._buf.append(text)

    def close(self) -> None:
        super().close()
        if self._items:
            parts = [p for group in self._items for p in group]
            parts.append(self._text())
            text = clean_inline(" ".join(parts))
            if text:
                self.blocks.append(Block("item", text))
            self._items = []
        self._flush()


def parse_html(text: str) -> ParsedDocument:
    """Parse HTML with the standard library's tolerant parser."""
    parser = _HTMLBlocks()
    parser.feed(text)
    parser.close()
    title = parser.title or next((b.text for b in parser.blocks if b.kind == "heading"), None)
    return ParsedDocument(Format.HTML, title, parser.blocks)


# --- PDF -------------------------------------------------------------------------------------


def _pdf_page_to_markup(text: str) -> str:
    """Re-insert paragraph breaks that PDF text extraction loses (short line ending a sentence)."""
    lines = [line.rstrip() for line in text.split("\n")]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        out.append(line)
        stripped = line.strip()
        if not stripped:
            continue
        short = len(stripped) < 0.75 * width
        if (short and _SENTENCE_END.search(stripped)) or (short and _text_heading(stripped)):
            out.append("")
    return "\n".join(out)


def parse_pdf(data: bytes, limits: Limits) -> ParsedDocument:
    """Extract the text layer of a PDF with pypdf, page by page.

    pypdf's own warnings about a damaged file are silenced: the one error line says it.
    """
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedDocument("the PDF is password-protected")
        count = len(reader.pages)
        if count > limits.max_pages:
            raise DocumentTooLarge(f"the PDF has {count:,} pages; the limit is {limits.max_pages:,}")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > limits.max_chars:
                raise DocumentTooLarge(f"the PDF text exceeds {limits.max_chars:,} characters")
            pages.append(_pdf_page_to_markup(text))
        meta_title = reader.metadata.title if reader.metadata else None
    except (EncryptedDocument, DocumentTooLarge):
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedDocument("the PDF is password-protected") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CorruptDocument(f"corrupt PDF: {exc}") from exc
    doc = parse_markup("\n\n".join(pages), Format.TEXT)
    doc.format = Format.PDF
    doc.pages = max(count, 1)
    doc.title = clean_inline(str(meta_title)) if meta_title else doc.title
    return doc


# --- DOCX ------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOCX_HEADING = re.compile(r"(?i)(?:heading|berschrift|t[ií]tulo|ttulo|titre)\s*(\d)")


def _docx_text(element: ElementTree.Element) -> str:
    parts: list[str] = []
    for node in element.iter():
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag in (f"{_W}tab", f"{_W}br"):
            parts.append(" ")
    return clean_inline("".join(parts))


def parse_docx(data: bytes, limits: Limits) -> ParsedDocument:
    """Read paragraphs (with heading and list styles) and tables from word/document.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > limits.max_unzipped_bytes:
                raise DocumentTooLarge("the DOCX expands beyond the size limit")
            root = ElementTree.fromstring(archive.read(info))  # noqa: S314 - expat: no external entities
            title = None
            if "docProps/core.xml" in archive.namelist():
                core = ElementTree.fromstring(archive.read("docProps/core.xml"))  # noqa: S314
                node = core.find("{http://purl.org/dc/elements/1.1/}title")
                title = clean_inline(node.text) if node is not None and node.text else None
    except DocumentTooLarge:
        raise
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, EOFError, ValueError) as exc:
        raise CorruptDocument(f"corrupt DOCX: {exc}") from exc
    body = root.find(f"{_W}body")
    blocks: list[Block] = []
    for child in body if body is not None else []:
        if child.tag == f"{_W}p":
            text = _docx_text(child)
            if not text:
                continue
            style_node = child.find(f"{_W}pPr/{_W}pStyle")
            style = style_node.get(f"{_W}val", "") if style_node is not None else ""
            if style.lower() == "title":
                blocks.append(Block("heading", text, 1))
            elif m := _DOCX_HEADING.search(style):
                blocks.append(Block("heading", text, int(m.group(1))))
            elif child.find(f"{_W}pPr/{_W}numPr") is not None or "list" in style.lower():
                blocks.append(Block("item", text))
            else:
                blocks.extend(_lines_to_blocks([text], plain=False))
        elif child.tag == f"{_W}tbl":
            header: list[str] | None = None
            for row_index, row in enumerate(child.iter(f"{_W}tr")):
                cells = [_docx_text(cell) for cell in row.iter(f"{_W}tc")]
                if row_index == 0 and len(cells) > 1 and not any(_DIGIT.search(c) for c in cells):
                    header = cells
                    continue
                text = row_text(cells, header)
                if text:
                    blocks.append(Block("item", text))
    title = title or next((b.text for b in blocks if b.kind == "heading"), None)
    return ParsedDocument(Format.DOCX, title, blocks)

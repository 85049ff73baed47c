"""A file's type from its bytes, never its name: a résumé named cv.pdf may be anything."""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
DOC = "application/msword"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JPEG = "image/jpeg"
PNG = "image/png"

# The file name extension that matches each type, for the name an employer downloads.
EXTENSIONS: dict[str, str] = {PDF: ".pdf", DOC: ".doc", DOCX: ".docx", JPEG: ".jpg", PNG: ".png"}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (bytes.fromhex("D0CF11E0A1B11AE1"), DOC),
    (b"\xff\xd8\xff", JPEG),
    (bytes.fromhex("89504E470D0A1A0A"), PNG),
)
_ZIP = b"PK\x03\x04"


def content_type(data: bytes) -> str | None:
    """The accepted type of `data`, or None: only what an employer can safely open."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(_ZIP) and _is_docx(data):
        return DOCX
    return None


def _is_docx(data: bytes) -> bool:
    """A Word document is a ZIP holding word/document.xml; an xlsx or any other ZIP is not."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False

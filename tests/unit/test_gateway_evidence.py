"""佐证材料 as the gateway takes them (services/gateway/evidence.py): the kind recognised from the
bytes, never the name; the size bounded as chunks arrive; a file's name reduced to what a reader
sees. The streamed upload and the store are the e2e suite's
(tests/e2e/test_sheets_and_evidence.py)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from services.gateway.errors import InvalidField
from services.gateway.evidence import (
    DOCX,
    JPEG,
    OFD,
    PDF,
    PNG,
    XLSX,
    file_name,
    received,
    recognised,
)
from zhaoshang.api import zhaoshang_pb2 as pb


def zipped(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


def workbook() -> bytes:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n...", PDF),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
        (zipped("OFD.xml", "Doc_0/Document.xml"), OFD),
        (zipped("[Content_Types].xml", "word/document.xml"), DOCX),
        (workbook(), XLSX),
    ],
)
def test_each_kind_is_recognised_by_its_bytes(data, kind):
    assert recognised(data) == kind


@pytest.mark.parametrize(
    "data",
    [b"GIF89a", b"plain text named .pdf", zipped("readme.txt"), b"PK\x03\x04 not a zip", b"MZ\x90"],
)
def test_anything_else_is_refused_whatever_its_name(data):
    with pytest.raises(InvalidField) as refused:
        recognised(data)
    assert refused.value.rule == "evidence_type_unknown"


def test_a_file_over_20_mib_is_refused_before_the_rest_is_read():
    def chunks():
        yield pb.EvidenceChunk(name="大.pdf", data=b"%PDF-" + b"0" * (1024 * 1024 - 5))
        for _ in range(20):
            yield pb.EvidenceChunk(data=b"0" * (1024 * 1024))
        raise AssertionError("read on after the limit")

    with pytest.raises(InvalidField) as refused:
        received(chunks())
    assert refused.value.rule == "evidence_too_large"


def test_a_name_is_its_last_path_part_and_plain_text():
    assert file_name("C:\\台账\\2020\\到资回单.pdf") == "到资回单.pdf"
    assert file_name("../../etc/passwd") == "passwd"
    for bad in ("", "a\x00b.pdf", "x" * 201, "dir/"):
        with pytest.raises(InvalidField) as refused:
            file_name(bad)
        assert refused.value.rule == "evidence_name"

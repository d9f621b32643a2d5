"""The Evidence service of the public API: 佐证材料 uploaded (streamed) and downloaded.

Upload takes a file in chunks, at most MAX_EVIDENCE_BYTES in all (counted as they arrive),
recognises its kind by its bytes (PDF, OFD, JPEG, PNG, DOCX, XLSX; never by its name), has it
scanned by ClamAV when `CLAMD_ADDRESS` is set (`host:port` or `unix:/path/clamd.sock`; a scanner
set but unreachable refuses the upload, it never lets a file through unscanned), and hands it to
tracking's store in chunks under its SHA-256. Download gives a file back to the units that
uploaded it (and the units whose scope covers theirs), to reviewers, the office and auditors.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import struct
import zipfile
from collections.abc import Iterable
from typing import Any

import grpc

from services.gateway.access import READERS, guarded, scope_of, sees_everything, unit_of_source
from services.gateway.caller import REPORT, REVIEW, Caller
from services.gateway.errors import AccessDenied, InvalidField, NotFound, ServiceUnavailable
from services.gateway.servicers import GuardedServicer
from services.kernel.contract.characters import normalised, odd_character
from services.kernel.contract.vocabulary import MAX_EVIDENCE_BYTES, SHORT_TEXT
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

CHUNK_BYTES = 1024 * 1024  # per RPC to tracking (services/tracking/evidence_store.py)
PDF, OFD, JPEG, PNG = "application/pdf", "application/ofd", "image/jpeg", "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHA256_HEX = frozenset("0123456789abcdef")


def refused(field: str, value: Any, rule: str, zh: str, en: str) -> InvalidField:
    return InvalidField(field, value, rule, zh, en)


def recognised(data: bytes) -> str:
    """The file's kind from its bytes; InvalidRequest for any other kind."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            names = set()
        if "OFD.xml" in names:
            return OFD
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    raise refused(
        "data",
        data[:8].hex(),
        "evidence_type_unknown",
        "无法识别的文件类型：佐证材料须为 PDF、OFD、JPEG、PNG、DOCX 或 XLSX（按文件内容识别，"
        "不看文件名）",
        "unrecognised file: evidence must be PDF, OFD, JPEG, PNG, DOCX or XLSX (recognised by "
        "its bytes, not its name)",
    )


def received(chunks: Iterable[pb.EvidenceChunk]) -> tuple[str, bytes]:
    """The file's name and bytes, refused as soon as they pass MAX_EVIDENCE_BYTES."""
    name, data = "", bytearray()
    for chunk in chunks:
        name = name or chunk.name
        if len(data) + len(chunk.data) > MAX_EVIDENCE_BYTES:
            raise refused(
                "data",
                f"> {MAX_EVIDENCE_BYTES}",
                "evidence_too_large",
                f"佐证材料不能超过 {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB",
                f"evidence may be at most {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB",
            )
        data += chunk.data
    if not data:
        raise refused("data", "", "evidence_empty", "文件为空", "the file is empty")
    return file_name(name), bytes(data)


def file_name(name: str) -> str:
    """The name as a reader will see it: its last path part, checked as contract text."""
    base = normalised(name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    odd = odd_character(base, False)
    if not base or odd is not None or len(base) > SHORT_TEXT:
        raise refused(
            "name",
            base[:SHORT_TEXT],
            "evidence_name",
            f"文件名须为 1 至 {SHORT_TEXT} 个可见字符，不含控制字符",
            f"a file name is 1 to {SHORT_TEXT} visible characters, no control characters",
        )
    return base


class ClamdScanner:
    """ClamAV's clamd, by its INSTREAM command."""

    def __init__(self, address: str, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        if self.address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.address.removeprefix("unix:"))
            return sock
        host, _, port = self.address.rpartition(":")
        return socket.create_connection((host, int(port)), timeout=self.timeout)

    def check(self, data: bytes) -> None:
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                for start in range(0, len(data), 65536):
                    piece = data[start : start + 65536]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
                sock.sendall(struct.pack(">I", 0))
                answer = sock.recv(4096).decode("utf-8", "replace").strip("\0\n ")
        except OSError as error:
            raise ServiceUnavailable(
                f"病毒扫描（clamd）暂不可用，请稍后重试：{error}",
                f"the virus scanner (clamd) is unavailable; retry later: {error}",
                "clamd",
            ) from None
        if not answer.endswith("OK"):
            raise refused(
                "data",
                answer.removeprefix("stream: "),
                "evidence_infected",
                f"病毒扫描未通过（{answer}），文件未保存",
                f"the virus scan failed ({answer}); the file was not stored",
            )


def scanner_from_env() -> ClamdScanner | None:
    address = os.environ.get("CLAMD_ADDRESS", "").strip()
    return ClamdScanner(address) if address else None


def described(stored: dict, name: str | None = None) -> pb.EvidenceFile:
    return pb.EvidenceFile(
        sha256=stored["sha256"],
        name=name or stored["name"],
        media_type=stored["media_type"],
        size=stored["size"],
    )


class EvidenceServicer(GuardedServicer, pb_grpc.EvidenceServicer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scanner = scanner_from_env()

    @guarded(REPORT)
    def Upload(self, request: Any, context: grpc.ServicerContext, caller: Caller) -> Any:
        name, data = received(request)
        media_type = recognised(data)
        if self.scanner is not None:
            self.scanner.check(data)
        sha256 = hashlib.sha256(data).hexdigest()
        pieces = range(0, len(data), CHUNK_BYTES)
        for index, start in enumerate(pieces):
            piece = base64.b64encode(data[start : start + CHUNK_BYTES]).decode("ascii")
            self.rpc.call("tracking", "evidence_put", sha256=sha256, index=index, data=piece)
        file = {"sha256": sha256, "name": name, "media_type": media_type, "size": len(data)}
        stored = self.rpc.call(
            "tracking", "evidence_seal", file=file, chunks=len(pieces), unit=caller.unit
        )
        if stored is None:  # tracking holds other bytes under this hash: never answer them
            raise ServiceUnavailable("文件保存不完整，请重新上传", "incomplete store; upload again")
        return described(stored, name)

    @guarded(REVIEW, *READERS)
    def Download(self, request: Any, context: grpc.ServicerContext, caller: Caller) -> Any:
        sha256 = request.sha256
        if len(sha256) != 64 or not set(sha256) <= SHA256_HEX:
            raise refused("sha256", sha256[:80], "sha256_format", "不是 SHA-256", "not a SHA-256")
        stored = self.rpc.call("tracking", "evidence_info", sha256=sha256)
        if stored is None:
            raise NotFound("sha256", sha256, "no_evidence", "没有该佐证材料", "no such evidence")
        check_may_read(caller, stored)
        data = b"".join(
            base64.b64decode(self.rpc.call("tracking", "evidence_chunk", sha256=sha256, index=i))
            for i in range(stored["chunks"])
        )
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ServiceUnavailable("佐证材料读取不完整", "the evidence read back is incomplete")
        return pb.EvidenceContent(file=described(stored), data=data)


def check_may_read(caller: Caller, stored: dict) -> None:
    """Reviewers, the office and auditors read every file; a unit those it (or a unit in its
    scope) uploaded."""
    if sees_everything(caller) or caller.has(REVIEW):
        return
    scope = scope_of(caller)
    units = stored["uploaded_by"]
    if scope is not None and any(scope.covers_unit(unit_of_source(u)) for u in units):
        return
    raise AccessDenied(
        "sha256",
        stored["sha256"],
        "outside_read_scope",
        f"{caller.unit} 无权读取该佐证材料：只能读取本单位（及所辖单位）上传的文件",
        f"{caller.unit} may not read this evidence: a unit reads the files it (or a unit in its "
        "scope) uploaded",
    )

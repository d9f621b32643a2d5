"""Files sent to the console (a 台账 workbook, 佐证材料), bounded before anything reads them.

`bounded(limit)` wraps a page: a request whose declared body exceeds `limit` bytes, or that
declares none (a chunked upload), is answered 413 before its form is parsed, so no upload can
fill the console's disk or memory; the server never delivers more than a declared length.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from services.console.web import Handler, Refused, render

MIB = 1024 * 1024


def bounded(limit: int) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            if request.method == "POST":
                declared = request.headers.get("content-length", "")
                if not declared.isdigit() or int(declared) > limit:
                    message = f"上传内容过大或未声明大小：每次至多 {limit // MIB} MiB"
                    return render(request, "error.html", 413, message=message)
            return await handler(request)

        checked.__name__ = handler.__name__
        return checked

    return decorate


async def read_upload(upload: object, limit: int, what: str) -> tuple[str, bytes] | None:
    """An uploaded file's name and bytes, None when no file was chosen; Refused (413) when it is
    larger than `limit`."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Refused(413, f"{what}“{upload.filename[:80]}”过大：至多 {limit // MIB} MiB")
    return upload.filename[:200], data

"""The circular's one rendering path: a published ranking and its publication date in, the
circular's files (.md, .html, .docx) and their sha256 out (`render`).

The application calls it once to issue a circular and again, the same function, to make the
files or the .docx attachment again from the stored circular. Every step (the chart, the Word
document, the text copies) is a pure function of the ranking and the date, so rendering again
gives the same bytes; `differing` names the files whose bytes no longer match the digests
stored at publication (a changed renderer), so they are not passed off as the circular.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.kernel.contract.ranking import Ranking
from services.notify.chart import totals_chart
from services.notify.circular import docx_filename, render_html, render_markdown
from services.notify.document import render_docx
from services.notify.transports import DOCX, Attachment

SUFFIXES = (".md", ".html", ".docx")


@dataclass(frozen=True)
class RenderedCircular:
    files: dict[str, bytes]  # file name -> content, in the order of SUFFIXES
    digests: dict[str, str]  # file name -> sha256 of its content
    attachment: Attachment  # the .docx as notices carry it

    def differing(self, stored: dict[str, str]) -> list[str]:
        """The files whose digest differs from the one stored for them."""
        return sorted(n for n, d in self.digests.items() if stored.get(n, d) != d)

    def write(self, directory: Path) -> list[Path]:
        """Write each file whole (through a temporary name) into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, content in self.files.items():
            path = directory / name
            temporary = path.with_name(name + ".part")
            temporary.write_bytes(content)
            temporary.replace(path)
            paths.append(path)
        return paths


def file_names(ranking: Ranking) -> list[str]:
    """`<quarter>-<hash[:12]>` with each suffix: the circular's files wherever they are written."""
    stem = f"{ranking['quarter']}-{ranking['hash'][:12]}"
    return [stem + suffix for suffix in SUFFIXES]


def render(
    ranking: Ranking, published_on: date, heads: list[dict] | None = None
) -> RenderedCircular:
    """The circular of `ranking` (with its `hash`) as published on `published_on`, under the
    signed tree heads `heads` (services/notify/heads.py; none in a circular made before)."""
    chart = totals_chart(ranking)
    docx = render_docx(ranking, published_on, chart, heads)
    contents = (
        render_markdown(ranking, published_on, heads).encode(),
        render_html(ranking, published_on, chart, heads).encode(),
        docx,
    )
    files = dict(zip(file_names(ranking), contents, strict=True))
    return RenderedCircular(
        files=files,
        digests={name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
        attachment=Attachment(docx_filename(ranking), DOCX, docx),
    )

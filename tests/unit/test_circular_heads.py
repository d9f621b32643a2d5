"""The signed tree heads a circular (通报) prints (services/notify/heads.py): in each of its files,
as text a person reads and as the one line (and QR code) the auditor's command reads back."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx
import pytest

from services.kernel.contract import treeheads
from services.notify.notices import circular_letter
from services.notify.rendering import render
from tests.notify_support import make_ranking, ranking_hash
from zhaoshang.auditing import CannotCheck, published_heads

PUBLISHED_ON = date(2020, 10, 12)
HEADS = [
    {
        "store": store,
        "size": size,
        "root": f"{size:064x}",
        "time": "2020-10-12T02:00:00.000000+00:00",
        "key_id": "ab" * 32,
        "signature": "c2lnbmF0dXJl" * 7 + "==",
    }
    for store, size in (("registry", 1200), ("tracking", 5400), ("scoring", 300), ("notify", 90))
]


@pytest.fixture(scope="module")
def ranking() -> dict:
    content = make_ranking()
    return {**content, "hash": ranking_hash(content)}


def test_each_file_of_the_circular_carries_the_heads_and_the_ranking_hash(ranking, tmp_path):
    rendered = render(ranking, PUBLISHED_ON, HEADS)
    paths = rendered.write(tmp_path)

    for path in paths:
        assert published_heads(path) == (HEADS, ranking["hash"]), path.name
    markdown = paths[0].read_text(encoding="utf-8")
    assert "四、签名树头" in markdown and "data:image/png;base64," in markdown
    assert "registry：前 1200 条事件" in markdown
    assert "<svg" in paths[1].read_text(encoding="utf-8")
    document = docx.Document(io.BytesIO(paths[2].read_bytes()))
    assert len(document.inline_shapes) == 2  # the chart and the QR code
    assert any("tracking：前 5400 条事件" in p.text for p in document.paragraphs)


def test_the_circular_with_heads_is_made_again_byte_for_byte(ranking):
    assert (
        render(ranking, PUBLISHED_ON, HEADS).digests == render(ranking, PUBLISHED_ON, HEADS).digests
    )


def test_a_circular_made_before_heads_existed_keeps_its_bytes(ranking):
    assert render(ranking, PUBLISHED_ON, []).digests == render(ranking, PUBLISHED_ON).digests
    assert (
        "ZSHEADS1"
        not in render(ranking, PUBLISHED_ON).files[f"2020Q3-{ranking['hash'][:12]}.md"].decode()
    )


def test_a_file_without_heads_cannot_be_checked_against(tmp_path):
    plain = tmp_path / "notes.md"
    plain.write_text("通报", encoding="utf-8")
    broken = tmp_path / "broken.md"
    broken.write_text(treeheads.MARK + "bm90IGpzb24", encoding="utf-8")

    for path in (plain, broken, tmp_path / "missing.md", Path(__file__)):
        with pytest.raises(CannotCheck):
            published_heads(path)


def test_the_letter_each_unit_is_sent_carries_the_heads_an_auditor_can_check_against(
    ranking, tmp_path
):
    letter = circular_letter(ranking, PUBLISHED_ON, "武汉市人民政府", heads=HEADS)
    kept = tmp_path / "来信.txt"  # a recipient's copy, beyond the operator's reach
    kept.write_text(letter.body, encoding="utf-8")

    assert "registry：前 1200 条事件" in letter.body
    assert published_heads(kept) == (HEADS, ranking["hash"])
    assert "签名树头" not in circular_letter(ranking, PUBLISHED_ON, "武汉市人民政府").body

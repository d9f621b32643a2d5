"""The circular (通报) as a Word document, its chart, and its HTML and Markdown copies."""

from __future__ import annotations

import io
import warnings
from datetime import date

import docx
import noto_cjk_sans_otc
import pytest
from matplotlib import font_manager

from services.notify import chart, circular
from services.notify.document import render_docx
from services.notify.rendering import render
from tests.notify_support import make_ranking, ranking_hash

PUBLISHED_ON = date(2020, 10, 12)


@pytest.fixture(scope="module")
def ranking() -> dict:
    content = make_ranking()
    return {**content, "hash": ranking_hash(content)}


@pytest.fixture(scope="module")
def png(ranking) -> bytes:
    return chart.totals_chart(ranking)


@pytest.fixture(scope="module")
def document(ranking, png) -> docx.document.Document:
    return docx.Document(io.BytesIO(render_docx(ranking, PUBLISHED_ON, png)))


def text_of(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def test_the_document_is_laid_out_as_an_official_notice(document, ranking):
    paragraphs = [p.text for p in document.paragraphs if p.text]

    assert paragraphs[0] == "湖北省招商引资工作领导小组办公室"
    assert paragraphs[1] == "关于2020年第三季度全省招商引资工作评分排名情况的通报"
    assert paragraphs[2] == "各市、州、县人民政府，省政府各部门："
    assert paragraphs[-2:] == ["湖北省招商引资工作领导小组办公室", "2020年10月12日"]
    assert document.core_properties.title == paragraphs[1]


def test_the_table_holds_rank_unit_each_indicator_and_total_for_every_prefecture(document, ranking):
    (table,) = document.tables
    cells = [[cell.text for cell in row.cells] for row in table.rows]

    assert cells[0] == [
        "名次",
        "市州",
        "注册",
        "开工（开业）",
        "投产",
        "到资",
        "重大项目落地",
        "市州领导外出招商",
        "加分",
        "扣分",
        "总分",
    ]
    assert len(cells) == 1 + 17
    for row, published in zip(cells[1:], ranking["rows"], strict=True):
        indicators = [published["indicators"][key]["points"] for key, _ in circular.INDICATORS_ZH]
        assert row == [
            str(published["rank"]),
            published["name"],
            *indicators,
            published["bonuses"],
            published["deductions"],
            published["total"],
        ]


def test_the_document_names_the_summoned_the_tiers_the_policy_and_the_hash(document, ranking):
    text = text_of(document)

    assert "对排名靠后的潜江市、天门市、神农架林区" in text
    assert "一档：武汉市、黄石市、十堰市" in text
    assert ranking["policy_version"] in text
    assert ranking["hash"] in text


def test_the_chart_of_totals_is_in_the_document(document, png):
    (picture,) = document.inline_shapes
    images = [p for p in document.part.related_parts.values() if p.content_type == "image/png"]

    assert picture.width > 0
    assert [image.blob for image in images] == [png]


def test_the_same_ranking_gives_the_same_bytes(ranking, png):
    assert chart.totals_chart(ranking) == png
    assert render_docx(ranking, PUBLISHED_ON, png) == render_docx(
        ranking, PUBLISHED_ON, chart.totals_chart(ranking)
    )
    assert circular.render_html(ranking, PUBLISHED_ON, png) == circular.render_html(
        ranking, PUBLISHED_ON, png
    )


def test_chinese_labels_render_in_the_packaged_font_with_no_missing_glyph(ranking):
    path = font_manager.findfont(chart.cjk_font(), fallback_to_default=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns for each glyph its font lacks
        chart.totals_chart(ranking)

    assert path == str(noto_cjk_sans_otc.FONT_PATH)
    assert font_manager.get_font(path).family_name == "Noto Sans CJK SC"


def test_the_html_and_markdown_copies_hold_the_same_table(ranking, png):
    html = circular.render_html(ranking, PUBLISHED_ON, png)
    markdown = circular.render_markdown(ranking, PUBLISHED_ON)

    for row in circular.table_rows(ranking):
        assert "".join(f"<td>{c}</td>" for c in row) in html or row[0] == "名次"
        assert "| " + " | ".join(row) + " |" in markdown
    assert 'src="data:image/png;base64,' in html
    assert ranking["hash"] in html and ranking["hash"] in markdown


def test_a_quarter_without_summons_says_so_and_names_no_reward_under_a_yearly_policy(png):
    """Rewards are decided once a year (十五): a ranking made under a policy without reward
    tiers has no 奖励分档 section, in any of the circular's files."""
    content = {**make_ranking(summons=[], tiers={}), "hash": "0" * 64}
    text = text_of(docx.Document(io.BytesIO(render_docx(content, PUBLISHED_ON, png))))
    markdown = circular.render_markdown(content, PUBLISHED_ON)

    assert "本季度无约谈对象。" in text
    for written in (text, markdown, circular.render_html(content, PUBLISHED_ON, png)):
        assert "奖励" not in written and "分档" not in written


def test_one_rendering_gives_the_files_their_digests_and_the_docx_attachment(ranking, png):
    rendered = render(ranking, PUBLISHED_ON)

    stem = f"2020Q3-{ranking['hash'][:12]}"
    assert list(rendered.files) == [f"{stem}.md", f"{stem}.html", f"{stem}.docx"]
    assert rendered.files[f"{stem}.docx"] == render_docx(ranking, PUBLISHED_ON, png)
    assert rendered.attachment.content == rendered.files[f"{stem}.docx"]
    assert rendered.attachment.filename == circular.docx_filename(ranking)
    assert render(ranking, PUBLISHED_ON).digests == rendered.digests
    assert rendered.differing(rendered.digests) == []
    assert rendered.differing({f"{stem}.html": "0" * 64}) == [f"{stem}.html"]

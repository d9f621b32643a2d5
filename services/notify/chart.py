"""The circular's bar chart of the 市州 totals, labelled in Chinese.

The CJK font comes from the pinned PyPI package `noto-cjk-sans-otc` (Noto Sans CJK, SIL OFL
1.1), so the chart renders the same on every machine that installed the project, with no system
font needed. Matplotlib (3.10 on) reads one face of the collection by its index.
The figure is drawn with the Agg canvas directly (no pyplot, no global state), and the PNG
carries no version metadata, so the same ranking gives the same bytes.
"""

from __future__ import annotations

import functools
import io
from decimal import Decimal

import noto_cjk_sans_otc
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from services.kernel.contract.ranking import Ranking
from services.notify.circular import names, quarter_zh

FONT_FAMILY = "Noto Sans CJK SC"
SUMMONED_COLOUR = "#c00000"
OTHER_COLOUR = "#4472c4"


@functools.cache
def cjk_font() -> font_manager.FontProperties:
    """The Simplified Chinese face of the packaged Noto Sans CJK collection, by file and face:
    never a system font of the same name, so the chart is the same on every machine."""
    path = str(noto_cjk_sans_otc.FONT_PATH)
    faces = ft2font.FT2Font(path).num_faces
    for index in range(faces):
        if ft2font.FT2Font(path, face_index=index).family_name == FONT_FAMILY:
            return font_manager.FontProperties(fname=font_manager.FontPath(path, index))
    raise LookupError(f"{path} has no face {FONT_FAMILY!r}")


def totals_chart(ranking: Ranking) -> bytes:
    """A horizontal bar per 市州, best at the top; the summoned ones in red."""
    font = cjk_font()
    rows = list(reversed(ranking["rows"]))
    summoned = set(ranking.get("summons", []))
    unit_names = names(ranking)
    totals = [float(Decimal(row["total"])) for row in rows]
    figure = Figure(figsize=(7.0, 0.3 * len(rows) + 1.2), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(
        range(len(rows)),
        totals,
        color=[SUMMONED_COLOUR if row["region"] in summoned else OTHER_COLOUR for row in rows],
    )
    axes.set_yticks(range(len(rows)), [unit_names[row["region"]] for row in rows])
    for label in axes.get_yticklabels():
        label.set_fontproperties(font)
    axes.bar_label(bars, labels=[row["total"] for row in rows], padding=3, fontproperties=font)
    axes.set_xlabel("总分", fontproperties=font)
    axes.set_title(
        f"{quarter_zh(ranking['quarter'])}各市州招商引资工作评分总分", fontproperties=font
    )
    low, high = min(0.0, *totals), max(100.0, *totals)
    room = (high - low) * 0.12  # for the value labels, either side of a bar
    axes.set_xlim(low - room if low < 0 else 0.0, high + room)
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()

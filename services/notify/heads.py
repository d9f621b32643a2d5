"""The signed tree heads a circular (通报) is made under: asked of every store at the
publication (each signs a fresh head: services/kernel/store/heads.py), kept in the stored
circular, and printed in its .md, .html and .docx as text and as a QR code of the one-line form
an auditor's `zhaoshang audit verify --against` reads (services/kernel/contract/treeheads.py).
They reach notify's recipients with the publication, in the attached .docx.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from typing import Any

import segno
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from services.kernel.bus import broker
from services.kernel.contract import treeheads
from services.kernel.store.heads import keeper

log = logging.getLogger(__name__)

STORES = ("registry", "tracking", "scoring", "notify")
HEADS_TIMEOUT_SECONDS = 20
TITLE = "签名树头"  # numbered by the circular: its last section
INTRO = (
    "本通报依据下列签名树头（各存储通知日志的默克尔树根，RFC 9162）生成。审计可用公开的签名公钥"
    "核对签名，并以 zhaoshang audit verify --against 本文件 核验此后的日志是否仅在其后追加、"
    "未经改写、删除或重排："
)


def payload(heads: list[dict], ranking_hash: str) -> str:
    return treeheads.encode(heads, ranking_hash)


def lines(heads: list[dict]) -> list[str]:
    return treeheads.lines_zh(heads)


def _qr(text: str) -> Any:
    return segno.make(text, error="l", micro=False)


def qr_png(text: str, scale: int = 3) -> bytes:
    out = io.BytesIO()
    _qr(text).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(text: str) -> str:
    out = io.BytesIO()
    _qr(text).save(out, kind="svg", scale=3, border=4, xmldecl=False, svgns=True)
    return out.getvalue().decode("ascii")


def markdown(heads: list[dict], ranking_hash: str, number: str) -> list[str]:
    """The heads' section of the Markdown circular, numbered `number` (e.g. 三); no section
    without heads."""
    if not heads:
        return []
    line = payload(heads, ranking_hash)
    png = base64.b64encode(qr_png(line)).decode("ascii")
    return [
        f"## {number}、{TITLE}", "", INTRO, "", *(f"- {text}" for text in lines(heads)), "",
        f"`{line}`", "", f"![签名树头二维码](data:image/png;base64,{png})", "",
    ]  # fmt: skip


def fetch_heads(ask: Callable[[str], dict], stores: tuple[str, ...] = STORES) -> list[dict]:
    """A fresh signed head of each store (`ask(store)`); a store that does not answer is left
    out and logged: the circular is still published, with the heads that could be had."""
    heads = []
    for store in stores:
        try:
            heads.append(ask(store))
        except Exception:
            log.exception("no tree head from %s for the circular", store)
    return heads


def html(heads: list[dict], ranking_hash: str, number: str) -> str:
    """The heads' section of the HTML circular, numbered `number`, the QR code inline as SVG."""
    if not heads:
        return ""
    from html import escape

    line = payload(heads, ranking_hash)
    items = "".join(f"<li>{escape(text)}</li>" for text in lines(heads))
    return (
        f"<h2>{escape(number)}、{escape(TITLE)}</h2><p>{escape(INTRO)}</p><ul>{items}</ul>"
        f'<p style="word-break:break-all;font-size:.7em"><code>{escape(line)}</code></p>'
        f'<p class="qr">{qr_svg(line)}</p>'
    )


class StoreHeads(DependencyProvider):
    """Gives notify's application, once its container runs, the way to ask every store for a
    fresh signed head: nameko RPC to registry, tracking and scoring, notify's own directly."""

    app_attribute = "app"

    def start(self) -> None:
        provider = next(d for d in self.container.dependencies if d.attr_name == self.app_attribute)
        app = provider.app
        config = broker.nameko_config({"AMQP_URI": self.container.config["AMQP_URI"]})

        def ask(store: str) -> dict:
            if store == "notify":
                return keeper(app, "notify").head(fresh=True)
            with ClusterRpcProxy(config, timeout=HEADS_TIMEOUT_SECONDS) as cluster:
                return getattr(cluster, store).tree_head(fresh=True)

        app.heads_source = lambda: fetch_heads(ask)

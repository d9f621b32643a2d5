"""The auditor's tamper checks against signed tree heads (README "How an auditor verifies"):

    zhaoshang audit heads [--out FILE] [--fresh]   save every store's signed head
    zhaoshang audit verify --against FILE          today's logs against heads published before
                                                   (a heads file, a circular .md/.html/.docx)
    zhaoshang audit prove EVENT_ID                 an inclusion proof anyone can check offline

Everything is checked here, with the published public keys (`--keyring`, default
`$ZHAOSHANG_KEYRING` or var/signing/keyring.json, as `make run` writes it): the heads'
signatures, the consistency proof from each published head to the store's head today, and the
log itself: every row the published head covered is read as stored now and hashed here into
the published root. A row rewritten, deleted, moved or cut off is named by store and position.
Exit status: 0 all holds, 1 tampering found, 2 the check could not be made.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from services.kernel.contract import treeheads
from zhaoshang.client import GatewayClient
from zhaoshang.proofs import Keyring, RootBuilder, consistency_holds, inclusion_holds, leaf_hash

HOLDS, TAMPERED, UNCHECKED = 0, 1, 2
PAGE = 500
STORES = ("registry", "tracking", "scoring", "notify")


class CannotCheck(Exception):
    """The check could not be made (exit 2): no keyring, an unreadable file, a bad head."""


def default_keyring() -> Path:
    found = os.environ.get("ZHAOSHANG_KEYRING")
    if found:
        return Path(found)
    return Path(os.environ.get("ZHAOSHANG_VAR", "var")) / "signing" / "keyring.json"


def load_keyring(path: Path) -> Keyring:
    try:
        return Keyring.load(path)
    except (OSError, ValueError, KeyError) as error:
        raise CannotCheck(f"公钥文件无法读取 / no keyring at {path}: {error}") from error


def published_heads(path: Path) -> tuple[list[dict], str]:
    """(heads, ranking hash) from a heads file saved by `audit heads` or from a circular."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CannotCheck(f"无法读取 / cannot read {path}: {error}") from error
    if path.suffix == ".docx":
        try:
            with zipfile.ZipFile(path) as docx:
                data = docx.read("word/document.xml")
        except (zipfile.BadZipFile, KeyError) as error:
            raise CannotCheck(f"{path} 不是通报 .docx / is not a circular .docx") from error
        text = re.sub(r"<[^>]+>", "", data.decode("utf-8"))
    else:
        text = data.decode("utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            saved = json.loads(text)
            return saved["heads"], saved.get("ranking", "")
        except (ValueError, KeyError) as error:
            raise CannotCheck(f"{path} 不是树头文件 / is not a heads file") from error
    try:
        found = treeheads.find_published(text)
    except ValueError as error:
        raise CannotCheck(f"{path}: 树头无法解读 / heads unreadable: {error}") from error
    if found is None:
        raise CannotCheck(f"{path} 中没有签名树头 / holds no signed tree heads")
    return found


# audit heads ---------------------------------------------------------------------------------


def heads(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    got = client.tree_heads(fresh=args.fresh)
    saved = {
        "kind": "zhaoshang-tree-heads",
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "gateway": args.gateway,
        "heads": got,
        "line": treeheads.encode(got),
    }
    path = Path(args.out or f"tree-heads-{saved['saved_at'][:19].replace(':', '')}.json")
    path.write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n")
    for line in treeheads.lines_zh(got):
        print(line, file=out)
    print(f"已保存 / saved: {path}", file=out)
    return HOLDS


# audit verify --against ----------------------------------------------------------------------


def rows_now(client: GatewayClient, store: str, count: int) -> Iterator[dict]:
    """The first `count` rows of a store's log as stored now, page by page."""
    index, after = 0, 0
    while index < count:
        page = client.read_leaves(store, index, after, min(PAGE, count - index))
        if not page:
            return
        yield from page
        index, after = index + len(page), page[-1]["notification_id"]


def check_store(client: GatewayClient, keyring: Keyring, published: dict) -> list[str]:
    """What is wrong with one store against its published head (empty: all holds)."""
    store, size = published["store"], int(published["size"])
    if not keyring.signed(published):
        raise CannotCheck(f"{store}：发布的树头签名不符 / the published head's signature fails")
    (today,) = client.tree_heads(store)
    problems = []
    if not keyring.signed(today):
        problems.append(
            f"[{store}] 今天的树头签名不符 / today's head is not signed by a published key"
        )
    if int(today["size"]) < size:
        problems.append(
            f"[{store}] 日志被截断：今天的树只有 {today['size']} 条，已发布的树头有 {size} 条 / "
            f"truncated: today's tree has {today['size']} leaves, the published head {size}"
        )
    elif size:
        proof = client.consistency_proof(store, size, int(today["size"]))
        if not consistency_holds(
            size, int(today["size"]), bytes.fromhex(published["root"]),
            bytes.fromhex(today["root"]), [bytes.fromhex(p) for p in proof["path"]],
        ):  # fmt: skip
            problems.append(
                f"[{store}] 今天的树不是已发布树的延续（一致性证明不成立）/ today's tree does not "
                f"extend the published one (consistency proof fails)"
            )
    problems += check_rows(client, store, size, published["root"])
    return problems


def check_rows(client: GatewayClient, store: str, size: int, root: str) -> list[str]:
    """The log's first `size` rows as stored now, hashed here, against the published root."""
    builder, problems, seen = RootBuilder(), [], 0
    for row in rows_now(client, store, size):
        leaf = leaf_hash(row["data"])  # the row's bytes as stored now
        builder.add(leaf)
        if row["tree_leaf_hash"] and row["tree_leaf_hash"] != leaf.hex():
            problems.append(
                f"[{store}] 第 {row['index']} 位（通知 {row['notification_id']}）的事件已被改写、"
                f"删除或移动 / position {row['index']} (notification {row['notification_id']}) "
                "was rewritten, deleted or moved"
            )
        seen += 1
    if seen < size:
        problems.append(
            f"[{store}] 第 {seen}–{size - 1} 位的事件已不在日志中（被删除）/ positions "
            f"{seen}-{size - 1} are gone from the log (deleted)"
        )
    elif builder.root().hex() != root:
        problems.append(
            f"[{store}] 前 {size} 条事件复算的根哈希与已发布的不符 / the first {size} events no "
            "longer hash to the published root"
        )
    return problems


def verify_against(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    keyring = load_keyring(Path(args.keyring))
    published, ranking_hash = published_heads(Path(args.against))
    ranking = f"（排名哈希 {ranking_hash}）" if ranking_hash else ""
    print(f"核验依据 / against: {args.against}{ranking}", file=out)
    problems: list[str] = []
    for head in published:
        found = check_store(client, keyring, head)
        verdict = "通过 / holds" if not found else f"发现 {len(found)} 处问题 / {len(found)} found"
        print(f"- {head['store']}：前 {head['size']} 条事件 {verdict}", file=out)
        problems += found
    for problem in problems:
        print(problem, file=out)
    if problems:
        print("结论：发现篡改 / tampering found", file=out)
        return TAMPERED
    print("结论：今天的日志是已发布日志的延续，未发现改写、删除、重排或截断 / all holds", file=out)
    return HOLDS


# audit prove ---------------------------------------------------------------------------------


def prove(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    import grpc

    keyring = load_keyring(Path(args.keyring))
    for store in [args.store] if args.store else STORES:
        (head,) = client.tree_heads(store)
        try:
            proof = client.inclusion_proof(store, event_id=args.event_id, tree_size=head["size"])
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                continue
            raise
        data = proof["leaf_data"]
        holds = (
            keyring.signed(head)
            and leaf_hash(data).hex() == proof["leaf_hash"]
            and inclusion_holds(
                proof["leaf_index"], proof["tree_size"], leaf_hash(data),
                [bytes.fromhex(p) for p in proof["path"]], bytes.fromhex(head["root"]),
            )
        )  # fmt: skip
        bundle = {
            "kind": "zhaoshang-inclusion-proof",
            "event_id": args.event_id,
            "head": head,
            "proof": {**proof, "leaf_data": base64.b64encode(data).decode("ascii")},
            "checked": bool(holds),
        }
        print(json.dumps(bundle, ensure_ascii=False, indent=2), file=out)
        return HOLDS if holds else TAMPERED
    raise CannotCheck(f"没有存储含事件 {args.event_id} / no store holds event {args.event_id}")


def add_commands(audit: argparse._SubParsersAction) -> None:
    heads_ = audit.add_parser("heads", help="save every store's signed tree head")
    heads_.add_argument("--out", help="the file to save to (default tree-heads-<time>.json)")
    heads_.add_argument("--fresh", action="store_true", help="have each store sign a new head")
    heads_.set_defaults(run=heads)
    prove_ = audit.add_parser("prove", help="an inclusion proof of one event, checkable offline")
    prove_.add_argument("event_id", help="the event_id of the report")
    prove_.add_argument("--store", choices=STORES, help="only this store")
    prove_.set_defaults(run=prove)
    for command in (heads_, prove_):
        command.add_argument("--keyring", default=str(default_keyring()))


def add_against(verify: argparse.ArgumentParser) -> None:
    verify.add_argument(
        "--against",
        help="a heads file or a circular (.md/.html/.docx): check today's logs extend it",
    )
    verify.add_argument("--keyring", default=str(default_keyring()), help="published public keys")

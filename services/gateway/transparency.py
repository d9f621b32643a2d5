"""The gateway's side of the stores' Merkle trees (services/kernel/store/heads.py): which store
answers, the checks on the request, and the proto shapes of GetTreeHead, GetInclusionProof and
GetConsistencyProof, and the leaf hashes ReadLog adds to each page.
"""

from __future__ import annotations

import base64
import re

from services.gateway.errors import InvalidRequest, NotFound
from services.gateway.rpc import Rpc
from zhaoshang.api import zhaoshang_pb2 as pb

TREE_STORES = ("registry", "tracking", "scoring", "notify")
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def checked_store(store: str, empty_is_all: bool = False) -> str:
    if (empty_is_all and not store) or store in TREE_STORES:
        return store
    raise InvalidRequest(
        "store",
        store,
        "tree_store",
        f"store 应为 {'、'.join(TREE_STORES)} 之一，收到 {store!r}",
        f"store must be one of {', '.join(TREE_STORES)}, got {store!r}",
    )


def _checked_size(field: str, size: int) -> int:
    if size < 0:
        raise InvalidRequest(
            field, str(size), "not_negative", f"{field} 不能为负数", f"{field} must not be negative"
        )
    return size


def _missing(answer: dict, field: str, value: str) -> None:
    if "missing" in answer:
        raise NotFound(field, value, "not_in_tree", f"树中没有：{answer['missing']}",
                       f"not in the tree: {answer['missing']}")  # fmt: skip


def head_to_proto(head: dict) -> pb.TreeHead:
    return pb.TreeHead(
        store=head["store"],
        size=head["size"],
        root=head["root"],
        time=head["time"],
        key_id=head["key_id"],
        signature=head["signature"],
    )


def tree_heads(rpc: Rpc, request: pb.GetTreeHeadRequest) -> pb.TreeHeads:
    store = checked_store(request.store, empty_is_all=True)
    stores = [store] if store else list(TREE_STORES)
    return pb.TreeHeads(
        heads=[head_to_proto(rpc.call(s, "tree_head", fresh=request.fresh)) for s in stores]
    )


def inclusion(rpc: Rpc, request: pb.GetInclusionProofRequest) -> pb.InclusionProof:
    store = checked_store(request.store)
    event_id = request.event_id
    if event_id and not UUID_TEXT.match(event_id):
        raise InvalidRequest("event_id", event_id, "uuid", f"event_id 应为 UUID，收到 {event_id!r}",
                             f"event_id must be a UUID, got {event_id!r}")  # fmt: skip
    if not event_id and request.notification_id <= 0:
        raise InvalidRequest("notification_id", str(request.notification_id), "required",
                             "应给出 notification_id 或 event_id",
                             "give a notification_id or an event_id")  # fmt: skip
    answer = rpc.call(
        store,
        "inclusion_proof",
        notification_id=request.notification_id,
        event_id=event_id.lower(),
        size=_checked_size("tree_size", request.tree_size),
    )
    _missing(answer, "event_id" if event_id else "notification_id",
             event_id or str(request.notification_id))  # fmt: skip
    return pb.InclusionProof(
        store=store,
        notification_id=answer["notification_id"],
        leaf_index=answer["index"],
        tree_size=answer["size"],
        leaf_hash=answer["leaf_hash"],
        leaf_data=base64.b64decode(answer["leaf_data"]),
        root=answer["root"],
        path=answer["path"],
    )


def consistency(rpc: Rpc, request: pb.GetConsistencyProofRequest) -> pb.ConsistencyProof:
    store = checked_store(request.store)
    old = _checked_size("old_size", request.old_size)
    answer = rpc.call(
        store,
        "consistency_proof",
        old_size=old,
        new_size=_checked_size("new_size", request.new_size),
    )
    _missing(answer, "old_size", str(old))
    return pb.ConsistencyProof(
        store=store,
        old_size=answer["old_size"],
        new_size=answer["new_size"],
        old_root=answer["old_root"],
        new_root=answer["new_root"],
        path=answer["path"],
    )


def with_leaf_hashes(rpc: Rpc, page: pb.LogPage) -> pb.LogPage:
    """The page with the leaf hash of each of its notifications the tree holds."""
    if page.last >= page.first:
        hashes = rpc.call(page.service, "leaf_hashes", first=page.first, last=page.last)
        for notification_id, hash_ in hashes.items():
            page.leaf_hashes[int(notification_id)] = hash_
    return page


MAX_LEAVES = 1000


def leaves(rpc: Rpc, request: pb.ReadLeavesRequest) -> pb.Leaves:
    store = checked_store(request.store)
    limit = min(request.limit or 500, MAX_LEAVES)
    answer = rpc.call(
        store,
        "read_leaves",
        start_index=_checked_size("start_index", request.start_index),
        after=_checked_size("after_notification_id", request.after_notification_id),
        limit=limit,
    )
    return pb.Leaves(
        store=store,
        leaves=[
            pb.Leaf(
                index=leaf["index"],
                notification_id=leaf["notification_id"],
                data=base64.b64decode(leaf["data"]),
                tree_leaf_hash=leaf["tree_leaf_hash"],
            )
            for leaf in answer["leaves"]
        ],
    )

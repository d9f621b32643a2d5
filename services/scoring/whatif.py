"""试算 (what-if): a quarter ranked under another policy, beside the real ranking, storing nothing.

The ranking is a pure function of the facts and the policy (十九), so the office can try other
weights, targets or tie-break on any past quarter before adopting them through a `policy.adopted`
report. The changes are applied to the policy in force for that quarter and must make a valid
policy (weights summing to 100 and the rest of the policy file's rules); the answer names the
field when they do not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

from services.scoring.domain import PolicyError, ScoringError
from services.scoring.facts import Facts
from services.scoring.policy import Policy
from services.scoring.ranking import ranking_hash
from services.scoring.rebuild import OFFICIAL, Units, rank

MAX_CHANGES = 64


class Ranks(Protocol):
    """What the what-if needs of scoring's application (services/scoring/application.py)."""

    @property
    def facts(self) -> Facts: ...
    @property
    def units(self) -> Units: ...

    def policy_for(self, quarter: str) -> Policy: ...
    def get_ranking(self, quarter: str, view: str = OFFICIAL) -> Mapping[str, Any]: ...
    def _book(self) -> Any: ...
    def _policy_data(self, version: str, book: Any) -> Mapping[str, Any] | None: ...


def changed_policy(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The base policy with `changes`: `weights` {indicator key: weight}, `targets`
    {indicator key: {region: {quarter: amount}}}, `tie_break` [keys], or a whole `policy`."""
    if not isinstance(changes, Mapping) or len(changes) > MAX_CHANGES:
        raise ScoringError("changes", "…", "changes_object", "an object of at most 64 changes")
    if "policy" in changes:
        data = dict(copy.deepcopy(changes["policy"]))
    else:
        data = copy.deepcopy(dict(base))
    known = {i["key"] for i in data.get("indicators", [])}
    for field in ("weights", "targets"):
        for key in changes.get(field, {}) or {}:
            if key not in known:
                raise ScoringError(
                    f"{field}.{key}",
                    key,
                    "known_indicator",
                    "no such indicator",
                    zh=f"没有指标 {key}",
                )
    for indicator in data.get("indicators", []):
        if indicator["key"] in (changes.get("weights") or {}):
            indicator["weight"] = changes["weights"][indicator["key"]]
        if indicator["key"] in (changes.get("targets") or {}):
            indicator["targets"] = changes["targets"][indicator["key"]]
    if changes.get("tie_break"):
        data["tie_break"] = list(changes["tie_break"])
    data["version"] = f"{data.get('version', '')}+试算"
    return data


def try_policy(app: Ranks, quarter: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The quarter under the changed policy (its official view), the real ranking, and how
    each 市州's rank would move."""
    base = app.policy_for(quarter)
    content = app._policy_data(base.version, app._book()) or {}  # the adopted file's content
    data = changed_policy(content, changes)
    try:
        policy = Policy.from_mapping(data)
    except PolicyError as error:
        raise ScoringError(
            f"policy.{error.field}", error.value, error.rule, str(error), zh=error.message_zh
        ) from None
    tried = rank(app.facts, policy, quarter, app.units, OFFICIAL)
    real = app.get_ranking(quarter)
    was = {row["region"]: row for row in real.get("rows", [])}
    return {
        "quarter": quarter,
        "base_policy": base.version,
        "indicators": [
            {"key": i["key"], "name_zh": i.get("name_zh", i["key"]), "weight": i["weight"]}
            for i in content.get("indicators", [])
        ],
        "tried": {**tried, "hash": ranking_hash(tried)},
        "real": {
            "rows": real.get("rows", []),
            "hash": real.get("hash", ""),
            "published": bool(real.get("published")),
        },
        "moves": [
            {
                "region": row["region"],
                "name": row["name"],
                "rank": row["rank"],
                "total": row["total"],
                "real_rank": was.get(row["region"], {}).get("rank"),
                "real_total": was.get(row["region"], {}).get("total"),
            }
            for row in tried["rows"]
        ],
        "stored": False,
    }

"""Tamper evidence that holds against the operator (README "How an auditor verifies"): the office
publishes a quarter, notify prints every store's signed tree head in the circular, and an
auditor's `zhaoshang audit verify --against` the circular finds each thing someone with write
access to the database does afterwards, naming the store and the position:

1. a past event rewritten, its hash chain and every checkpoint recomputed to match (which the
   stores' own verification, `audit verify`, no longer sees);
2. the last events of a log deleted, with the checkpoints that covered them;
3. two events swapped in the log;
4. the hash of a 佐证材料 file a milestone report cites swapped for another's, so the stored
   fact would point at a different file.

Untampered, or put back as it was, the check passes. The rows are edited with the database's
owner role, as an attacker would.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.e2e.lifecycle import accepted, report, unique
from tests.e2e.test_cli_audit import publish
from tests.e2e.test_cli_audit import zhaoshang as cli
from tests.e2e.test_report_to_ranking import wait_for_file
from tests.e2e.test_sheets_and_evidence import PDF, WUHAN, named, signed_project
from tests.tamper import EventsTable
from tools.demo import generate_demo

QUARTER = "2020Q3"


@pytest.fixture
def store_env(postgres_env):
    return postgres_env


def zhaoshang(system, *argv: str):
    """The auditor's command with the deployment's published keyring (`make run` keeps it at
    var/signing/keyring.json)."""
    keyring = Path(system.env["ZHAOSHANG_VAR"]) / "signing" / "keyring.json"
    return cli(system, *argv, "--keyring", str(keyring))


def caught(result, store: str) -> list[int]:
    """The positions of `store` the check named."""
    assert result.returncode == 1, result.stdout + result.stderr
    return [int(p) for p in re.findall(rf"\[{store}\] 第 (\d+)", result.stdout)]


def capital_arrived_with_evidence(system) -> str:
    """A 市州's 到资 report citing its bank receipt (佐证材料), accepted; the file's sha256."""
    code = unique("TAMPER")
    signed_project(system, code)
    with system.client(WUHAN) as wuhan:
        receipt = named(wuhan.upload_evidence(PDF, "到资回单.pdf"))
    arrived = report(
        "project.capital_arrived", WUHAN, "2020-07-20", project_code=code, amount="2",
        evidence=[receipt],
    )  # fmt: skip
    accepted(system, WUHAN, arrived)
    return receipt["sha256"]


def test_an_auditor_with_a_published_circular_catches_each_tampering_naming_store_and_position(
    system,
):
    reports = generate_demo(QUARTER)
    publish(system, reports)
    cited = capital_arrived_with_evidence(system)
    with system.client() as office:
        published = office.publish_ranking(QUARTER)
    circulars = Path(system.env["ZHAOSHANG_VAR"]) / "circulars"
    stem = f"{QUARTER}-{published['hash'][:12]}"
    for suffix in (".md", ".html"):
        wait_for_file(circulars / (stem + suffix))
    docx = wait_for_file(circulars / (stem + ".docx"))
    circular = circulars / (stem + ".md")
    text = circular.read_text(encoding="utf-8")
    assert "三、签名树头" in text and "ZSHEADS1:" in text and "data:image/png;base64," in text
    assert "奖励分档" not in text  # rewards are the yearly assessment's (十五)
    for store in ("registry", "tracking", "scoring", "notify"):
        assert f"{store}：前 " in text

    for copy in (circular, circular.with_suffix(".html"), docx):
        untouched = zhaoshang(system, "audit", "verify", "--against", str(copy))
        assert untouched.returncode == 0, untouched.stdout + untouched.stderr
        assert "all holds" in untouched.stdout

    registry, tracking, scoring = (
        EventsTable(system.env, store) for store in ("registry", "tracking", "scoring")
    )

    # 1. A past event rewritten; its chain and every checkpoint recomputed to agree.
    before = registry.rows()
    target = next(i for i, r in enumerate(before) if r[3].endswith("Project.Proposed") and i > 5)
    n, aggregate, version, topic, state = before[target]
    amount = b'"total_investment":{"_type_":"decimal_str","_data_":"'
    edited = state.replace(amount, amount + b"9", 1)
    assert edited != state
    rows = [*before[:target], (n, aggregate, version, topic, edited), *before[target + 1 :]]
    registry.forge(rows)
    assert zhaoshang(system, "audit", "verify").returncode == 0  # the stores see nothing
    against_docx = zhaoshang(system, "audit", "verify", "--against", str(docx))
    assert target in caught(against_docx, "registry")
    registry.restore(before)

    # 2. The last events of a log deleted, with the checkpoints covering them.
    before = scoring.rows()
    scoring.delete_from(before[-3][0])
    scoring.delete_checkpoints()
    result = zhaoshang(system, "audit", "verify", "--against", str(circular))
    assert caught(result, "scoring")
    assert "deleted" in result.stdout
    scoring.restore(before)

    # 3. Two events swapped.
    before = tracking.rows()
    first, second = 3, 9
    tracking.put((before[first][0], *before[second][1:]))
    tracking.put((before[second][0], *before[first][1:]))
    assert {first, second} <= set(
        caught(zhaoshang(system, "audit", "verify", "--against", str(circular)), "tracking")
    )
    tracking.restore(before)

    # 4. The evidence a milestone cites (tracking's record of the files its report named)
    # swapped for another file's hash.
    before = tracking.rows()
    sha256 = cited.encode()
    milestone = next(i for i, r in enumerate(before) if sha256 in r[4] and "Evidence" in r[3])
    n, aggregate, version, topic, state = before[milestone]
    tracking.put((n, aggregate, version, topic, state.replace(sha256, b"0" * 64)))
    assert milestone in caught(
        zhaoshang(system, "audit", "verify", "--against", str(circular)), "tracking"
    )
    tracking.restore(before)

    # Put back as it was, the log holds again; a saved heads file and a proof check out too.
    time.sleep(0.1)
    assert zhaoshang(system, "audit", "verify", "--against", str(circular)).returncode == 0
    heads_file = Path(system.env["ZHAOSHANG_VAR"]) / "heads.json"
    saved = zhaoshang(system, "audit", "heads", "--out", str(heads_file))
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert zhaoshang(system, "audit", "verify", "--against", str(heads_file)).returncode == 0
    event_id = reports[0]["event_id"]
    proof = zhaoshang(system, "audit", "prove", event_id)
    assert proof.returncode == 0, proof.stdout + proof.stderr
    assert json.loads(proof.stdout)["checked"] is True

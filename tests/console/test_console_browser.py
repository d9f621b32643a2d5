"""The console in a real browser (Debian's chromium driven by Playwright) against the running
system: sign-in and sign-out, lockout, CSRF refusal, the dashboard with 17 市州 and the map, a
reviewer working the 甄别 queue, a 市州 clerk refused /review and another 市州's project, a
project's history naming its operator. Screenshots of each main page go to var/screenshots/."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from tests.console.conftest import QUARTER, shot, sign_in
from zhaoshang.auditing import published_heads

pytestmark = [pytest.mark.browser, pytest.mark.rabbit]

WUHAN_CLERK = "clerk.420100"
REVIEWER = "office.reviewer"


def test_a_clerk_signs_in_sees_their_own_card_first_and_signs_out(console_system, page):
    sign_in(page, console_system, WUHAN_CLERK)
    assert page.url.rstrip("/") == console_system.url
    assert "本市州：武汉市" in page.inner_text("#own-card")
    assert page.locator("meta[name=renderer]").get_attribute("content") == "webkit"
    cookie = next(c for c in page.context.cookies() if c["name"] == "zs_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("text=退出")
    assert page.url.endswith("/login")
    page.goto(f"{console_system.url}/projects")
    assert page.url.endswith("/login")  # the session ended with the sign-out


def test_the_dashboard_shows_17_prefectures_on_the_ranking_and_the_map(console_system, page):
    sign_in(page, console_system, REVIEWER)
    assert page.locator("#ranking tbody tr").count() == 17
    assert "档次" not in page.inner_text("#ranking thead")  # rewards are yearly (十五)
    page.wait_for_selector("#hubei-map[data-ready='1'] canvas")
    assert "已发布" in page.inner_text("main")
    shot(page, "dashboard")
    page.click("#ranking >> text=武汉市")
    assert f"/scorecard/420100?quarter={QUARTER}" in page.url
    assert "武汉市" in page.inner_text("h1")
    shot(page, "scorecard")


def test_repeated_failures_lock_the_account(console_system, page):
    name = "clerk.429021"  # 神农架林区's clerk: only this test uses it
    for _ in range(5):
        sign_in(page, console_system, name, "not-the-password-1A")
        assert "/login" in page.url
    sign_in(page, console_system, name)  # the right password, too late
    assert "锁定" in page.inner_text("[role=alert]")
    assert "/login" in page.url


def test_a_form_without_its_csrf_token_is_refused(console_system, page):
    sign_in(page, console_system, REVIEWER)
    answer = page.request.post(
        f"{console_system.url}/review",
        form={"action": "verify", "event": "00000000-0000-0000-0000-000000000000", "csrf": "x"},
    )
    assert answer.status == 403
    assert "CSRF" in answer.text() and "表单已失效" in answer.text()
    stranger = page.context.browser.new_context()
    try:  # the sign-in form too: a post from elsewhere has no matching cookie
        refused = stranger.request.post(
            f"{console_system.url}/login",
            form={"username": REVIEWER, "password": "x", "csrf": "forged"},
        )
        assert refused.status == 403 and "CSRF" in refused.text()
    finally:
        stranger.close()


def test_a_clerk_is_refused_the_review_desk_and_another_prefectures_project(console_system, page):
    sign_in(page, console_system, WUHAN_CLERK)
    answer = page.goto(f"{console_system.url}/review")
    assert answer.status == 403 and "没有访问此页面的权限" in page.inner_text("main")
    with console_system.office() as office:
        other = next(
            p["project_code"]
            for p in office.list_projects(register=True)["projects"]
            if p["prefecture"] != "420100"
        )
    answer = page.goto(f"{console_system.url}/projects/{other}")
    assert answer.status == 403 and "无权查看" in page.inner_text("main")
    page.goto(f"{console_system.url}/projects")
    codes = page.locator("#projects tbody a").all_inner_texts()
    assert codes and all(c.startswith("4201") for c in codes), page.inner_text("main")[:500]


def reported_capital(system, count: int) -> list[str]:
    """武汉市's system reports capital arriving into its registered projects: reports awaiting
    the office's review."""
    with system.office() as office:
        codes = [
            p["project_code"]
            for p in office.list_projects(region="420100", register=True)["projects"]
            if any(
                m["kind"] == "registered"
                for m in (office.milestones(p["project_code"]) or {}).get("milestones", [])
            )
        ][:count]
        reports = [
            {
                "event_id": str(uuid.uuid4()),
                "type": "project.capital_arrived",
                "source": "pref:420100",
                "occurred_on": "2020-09-25",
                "schema_version": 1,
                "payload": {"project_code": code, "amount": "0.01"},
            }
            for code in codes
        ]
        key = system.supervisor.api_keys["pref:420100"]
        outcomes = office.publish(reports, api_key=key)
    assert [o["status"] for o in outcomes] == ["accepted"] * count, outcomes
    return codes


def test_a_reviewer_works_the_queue_and_the_history_names_the_reviewer(console_system, page):
    reported_capital(console_system, 3)
    sign_in(page, console_system, REVIEWER)
    page.goto(f"{console_system.url}/review")
    before = int(page.inner_text("#awaiting-count"))
    assert before >= 2
    shot(page, "review")
    milestones = page.locator("input[name=event][value^='milestone:']")
    verified = milestones.nth(0).get_attribute("value").split(":", 1)[1]
    milestones.nth(0).check()
    page.click("button[value=verify]")
    assert "已核实 1 条" in page.inner_text("#review-outcome")
    assert int(page.inner_text("#awaiting-count")) == before - 1
    page.locator("input[name=event][value^='milestone:']").nth(0).check()
    page.fill("input[name=reason]", "到资凭证与合同金额不符")
    page.click("button[value=reject]")
    assert "已退回 1 条" in page.inner_text("#review-outcome")
    assert int(page.inner_text("#awaiting-count")) == before - 2

    with console_system.office() as office:
        code = next(
            p["project_code"]
            for p in office.list_projects(register=True)["projects"]
            if any(
                m["event_id"] == verified
                for m in (office.milestones(p["project_code"]) or {}).get("milestones", [])
            )
        )
    page.goto(f"{console_system.url}/projects/{code}")
    assert "已核实" in page.inner_text("#milestones")
    operators = page.locator("#history td.operator").all_inner_texts()
    assert REVIEWER in operators  # the verification is the reviewer's, through delegation
    page.wait_for_selector("#chain-verdict")  # the chain check, loaded after the page
    shot(page, "project")


def test_the_register_filters_and_pages_and_works_at_390_px(console_system, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, console_system, REVIEWER)
        page.goto(f"{console_system.url}/projects?q=武汉")
        rows = page.locator("#projects tbody tr")
        assert rows.count() > 0
        assert all("武汉" in t for t in rows.all_inner_texts())
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, width  # nothing wider than the phone's screen
        shot(page, "projects-390px")
        page.goto(console_system.url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
    finally:
        context.close()


def test_an_auditor_sees_every_sign_in_and_read_recorded(console_system, page):
    sign_in(page, console_system, "auditor.dev")
    page.goto(f"{console_system.url}/audit/trail")
    trail = page.inner_text("#trail")
    assert re.search(r"Account\.SignedIn", trail) and "Access.Recorded" in trail
    assert "what=project" in trail and "what=history" in trail
    page.goto(f"{console_system.url}/audit")
    page.click("text=校验全部存储")
    page.wait_for_selector("#audit-result table")
    assert "全部存储校验通过" in page.inner_text("#audit-result")
    shot(page, "audit")


def test_warnings_circulars_and_a_what_if_for_the_office(console_system, page, tmp_path):
    sign_in(page, console_system, REVIEWER)
    page.goto(f"{console_system.url}/todo")
    assert page.locator("#todo tbody tr.red").count() > 0  # overdue 附件3 tasks of the demo
    shot(page, "todo")
    page.goto(f"{console_system.url}/circulars")
    assert QUARTER in page.inner_text("#circulars")
    answer = page.request.get(f"{console_system.url}/circulars/{QUARTER}.docx")
    assert answer.status == 200 and answer.body()[:2] == b"PK"  # a .docx is a zip
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    # The circular the units received: its bytes as notify recorded them, with the signed tree
    # heads an auditor checks the logs against.
    assert hashlib.sha256(answer.body()).hexdigest() == answer.headers["x-content-sha256"]
    saved = tmp_path / "通报.docx"
    saved.write_bytes(answer.body())
    heads, ranking_hash = published_heads(saved)
    assert {head["store"] for head in heads} >= {"registry", "tracking", "scoring"}
    assert ranking_hash in page.inner_text("#circulars")
    page.goto(f"{console_system.url}/whatif?quarter={QUARTER}")
    assert page.locator("#whatif tbody tr").count() == 17
    fields = page.locator("#whatif-form input[name^='weight.']")
    first, second = fields.nth(0), fields.nth(1)
    first.fill(str(float(first.input_value()) + 5))
    second.fill(str(float(second.input_value()) - 5))
    page.click("#whatif-form button[type=submit]")
    assert page.locator("#whatif tbody tr").count() == 17
    shot(page, "whatif")
    first.fill("99")
    page.click("#whatif-form button[type=submit]")
    assert "100" in page.inner_text("main")  # the weights must sum to 100: named, nothing kept


def test_an_administrator_adds_an_account_that_can_sign_in_and_is_no_reviewer(
    console_system, page, browser
):
    sign_in(page, console_system, "office.admin")
    assert page.url.endswith("/admin/users")
    page.fill("input[name=username]", "li.si")
    page.fill("input[name=unit]", "pref:420500")
    page.check("input[name=roles][value=reporter]")
    page.click("form:has(input[value=add]) button[type=submit]")
    password = page.inner_text("#new-password")
    assert "li.si" in page.inner_text("#users")
    shot(page, "users")
    page.goto(f"{console_system.url}/")  # 三员分立: the administrator reads no business data
    assert "没有访问此页面的权限" in page.inner_text("main")
    other = browser.new_context()
    try:
        clerk = other.new_page()
        sign_in(clerk, console_system, "li.si", password)
        assert "本市州：宜昌市" in clerk.inner_text("#own-card")
    finally:
        other.close()

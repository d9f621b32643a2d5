"""/forms 填报: the list of forms the person's unit may send, one form per report type, and its
two steps — 核验 (Ingest.Validate: each broken rule beside its field, nothing stored) and 确认报送
(Ingest.Publish) — with 佐证材料 uploaded through Evidence.Upload and named in the report."""

from __future__ import annotations

import json

import grpc
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from services.console import forms
from services.console.gateway import PersonClient
from services.console.pages import register_of
from services.console.roles import REPORTER, REVIEWER, region_of
from services.console.uploads import MIB, bounded, read_upload
from services.console.web import (
    Refused,
    call,
    console_of,
    page,
    refused_by_gateway,
    render,
    session_of,
)
from services.kernel.contract.vocabulary import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FILES
from zhaoshang.sheets.forms import Form

FILERS = (REPORTER, REVIEWER)
FILES_PER_SEND = 3  # files uploaded with one submission; more in later ones, up to the contract's
MAX_FORM_BYTES = FILES_PER_SEND * MAX_EVIDENCE_BYTES + MIB
STATUS_ZH = {
    "accepted": "网关核验通过",
    "duplicate": "此报告此前已报送（重复，不会重复计数）",
}


@page(*FILERS)
async def form_list(request: Request) -> Response:
    session = session_of(request)
    return render(
        request,
        "forms.html",
        offered=forms.offered(session.unit),
        takes_evidence=forms.takes_evidence,
    )


def _form(request: Request) -> Form:
    form = forms.offered_form(session_of(request).unit, request.path_params["type"])
    if form is None:
        raise Refused(404, "没有此报表，或本单位不报送此类报告")
    return form


def _projects(client: PersonClient, unit: str, roles: tuple[str, ...]) -> list[tuple[str, str]]:
    """The person's projects for the 项目编号 field's suggestions."""
    listing = register_of(client, unit, roles, "")
    return [(p["project_code"], p["name"]) for p in listing.get("projects", [])[:2000]]


async def _show(
    request: Request,
    form: Form,
    values: dict,
    errors: dict[str, str],
    event_id: str,
    evidence: list[dict],
    checked: str = "",
    status: int = 200,
) -> Response:
    console, session = console_of(request), session_of(request)
    wants_projects = any(c.field == "project_code" for c in form.columns)
    projects = (
        await call(_projects, console.client(session), session.unit, session.roles)
        if wants_projects
        else []
    )
    return render(
        request,
        "forms_entry.html",
        status,
        form=form,
        fields=forms.fields(form, session.unit, values, errors),
        general=errors.get(""),
        evidence_error=errors.get(forms.EVIDENCE, ""),
        takes_evidence=forms.takes_evidence(form),
        evidence=evidence,
        evidence_json=json.dumps(evidence, ensure_ascii=False),
        event_id=event_id,
        checked=checked,
        projects=projects,
        own_region=region_of(session.unit),
    )


@page(*FILERS)
async def form_page(request: Request) -> Response:
    form = _form(request)
    return await _show(request, form, {}, {}, forms.event_id_of({}), [])


async def _uploaded(client: PersonClient, submitted: FormData, have: int) -> tuple[list, str]:
    """The files chosen in this submission, uploaded through the gateway: their descriptions,
    and the gateway's refusal of one (in Chinese) if any."""
    out: list[dict] = []
    for upload in submitted.getlist("evidence_files")[:FILES_PER_SEND]:
        file = await read_upload(upload, MAX_EVIDENCE_BYTES, "佐证材料")
        if file is None:
            continue
        if have + len(out) >= MAX_EVIDENCE_FILES:
            return out, f"每份报告至多 {MAX_EVIDENCE_FILES} 个佐证材料"
        name, data = file
        try:
            out.append(await call(client.upload_evidence, data, name))
        except grpc.RpcError as error:
            return out, f"“{name}”未能上传：{refused_by_gateway(error)[1]}"
    return out, ""


@bounded(MAX_FORM_BYTES)
@page(*FILERS)
async def form_send(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    form = _form(request)
    submitted = await request.form()
    values = forms.typed(form, submitted)
    event_id = forms.event_id_of(submitted)
    client = console.client(session)
    evidence = forms.carried_evidence(str(submitted.get("evidence_json", "")))
    if forms.takes_evidence(form):
        new, refused = await _uploaded(client, submitted, len(evidence))
        evidence += new
        if refused:
            return await _show(request, form, values, {forms.EVIDENCE: refused}, event_id, evidence)
    report, errors = forms.report_of(form, session.unit, event_id, values, evidence)
    if report is None:
        return await _show(request, form, values, errors, event_id, evidence, status=400)
    send = submitted.get("action") == "send"
    outcome = (await call(client.publish if send else client.validate, [report]))[0]
    errors = forms.errors_of(form, outcome)
    if outcome["status"] not in STATUS_ZH:
        return await _show(request, form, values, errors, event_id, evidence, status=400)
    if not send:
        checked = STATUS_ZH[outcome["status"]]
        return await _show(request, form, values, {}, event_id, evidence, checked)
    return render(
        request,
        "forms_sent.html",
        form=form,
        sent_status=outcome["status"],
        event_id=event_id,
        evidence=evidence,
    )

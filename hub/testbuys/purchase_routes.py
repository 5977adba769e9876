"""Pages of one purchase (details, costs, status, verdict, evidence, chain of custody,
reporting to the board) and the buyer-persona register."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from hub import audit
from hub.config import Settings
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.impact.referrals import REFERABLE_VERDICTS
from hub.intel import evidence as files
from hub.intel.routes import read_uploads
from hub.members.models import Brand
from hub.policy import Action, Actor, can, ensure
from hub.testbuys import campaigns, custody, personas, purchases, reporting
from hub.testbuys.models import Campaign, CustodyKind, Purchase
from hub.testbuys.routes import LABELS, campaign_page
from hub.web import flash, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]


def purchase_form(
    signup: Text = "",
    product: Text = "",
    marketplace: Text = "",
    seller: Text = "",
    listing_url: Text = "",
    persona: Text = "",
    order_number: Text = "",
    ordered_on: Text = "",
    shipped_on: Text = "",
    received_on: Text = "",
    examined_on: Text = "",
    item_cost: Text = "",
    shipping_cost: Text = "",
    fees: Text = "",
    cost_currency: Text = "",
    amount: Text = "",
) -> purchases.PurchaseForm:
    return purchases.PurchaseForm(
        signup,
        product,
        marketplace,
        seller,
        listing_url,
        persona,
        order_number,
        ordered_on,
        shipped_on,
        received_on,
        examined_on,
        item_cost,
        shipping_cost,
        fees,
        cost_currency,
        amount,
    )


PostedPurchase = Annotated[purchases.PurchaseForm, Depends(purchase_form)]


def custody_form(
    kind: Text = CustodyKind.handover,
    occurred_at: Text = "",
    from_party: Text = "",
    to_party: Text = "",
    place: Text = "",
    purpose: Text = "",
    seal_number: Text = "",
    seal_intact: Text = "",
    findings: Text = "",
) -> custody.CustodyForm:
    return custody.CustodyForm(
        kind, occurred_at, from_party, to_party, place, purpose, seal_number, seal_intact, findings
    )


PostedCustody = Annotated[custody.CustodyForm, Depends(custody_form)]


@router.post("/testbuys/{campaign_id}/purchases")
def plan_purchase(
    campaign_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedPurchase,
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    try:
        purchase = purchases.create(session, actor, campaign, form)
    except InvalidForm as invalid:
        session.rollback()
        values = asdict(form)
        return campaign_page(request, session, actor, campaign, invalid.errors, values, 422)
    flash(request, _("The purchase is planned."))
    return redirect(request, f"/testbuys/purchases/{purchase.id}")


def purchase_page(
    request: Request,
    session: Session,
    actor: Actor,
    purchase: Purchase,
    campaign: Campaign,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    runs = can(actor, Action.run_campaigns, campaign.group_id)
    persona = (
        personas.get(session, actor, purchase.persona_id) if runs and purchase.persona_id else None
    )
    steps = [
        s
        for s in purchases.NEXT_STATUSES.get(purchase.status, [])
        if purchases.may_step(actor, purchase, campaign, s)
    ]
    return render(
        request,
        "testbuys/purchase.html",
        {
            "purchase": purchase,
            "campaign": campaign,
            "group": session.get(WorkingGroup, campaign.group_id),
            "brand": session.get(Brand, purchase.brand_id),
            "runs": runs,
            "purchase_view": purchases.view_of(purchase, campaign),
            "persona": persona,
            "personas": personas.for_group(session, campaign.group_id) if runs else [],
            "steps": steps,
            "history": purchases.history(session, purchase),
            "step_note": purchases.step_note,
            "files": purchases.evidence_of(session, purchase),
            "chain": custody.verify(session, purchase),
            "may_report": purchase.verdict in reporting.REPORTABLE
            and purchase.report_id is None
            and can(actor, Action.post_intel, campaign.group_id),
            "may_refer": purchase.verdict in REFERABLE_VERDICTS
            and can(actor, Action.refer_case, campaign.group_id),
            "form": asdict(purchases.form_of(purchase)) | (values or {}),
            "errors": errors or {},
            **LABELS,
        },
        status_code=422 if errors else 200,
    )


@router.get("/testbuys/purchases/{purchase_id}")
def purchase_detail(
    purchase_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    return purchase_page(request, session, actor, purchase, campaign)


@router.post("/testbuys/purchases/{purchase_id}/edit")
def edit_purchase(
    purchase_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedPurchase,
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    try:
        purchases.update(session, actor, purchase, campaign, form)
    except InvalidForm as invalid:
        session.rollback()
        purchase, campaign = purchases.get_visible(session, actor, purchase_id)
        values = asdict(form)
        return purchase_page(request, session, actor, purchase, campaign, invalid.errors, values)
    flash(request, _("The purchase was saved."))
    return redirect(request, f"/testbuys/purchases/{purchase.id}")


@router.post("/testbuys/purchases/{purchase_id}/status")
def purchase_status(
    purchase_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    status: Text = "",
    verdict: Text = "",
    note: Text = "",
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    try:
        purchases.change_status(session, actor, purchase, campaign, status, verdict, note)
    except InvalidForm as invalid:
        session.rollback()
        purchase, campaign = purchases.get_visible(session, actor, purchase_id)
        typed = {"note": note}
        return purchase_page(request, session, actor, purchase, campaign, invalid.errors, typed)
    flash(
        request, _("The purchase is now “%(status)s”.", status=LABELS["purchase_statuses"][status])
    )
    return redirect(request, f"/testbuys/purchases/{purchase.id}")


@router.post("/testbuys/purchases/{purchase_id}/evidence")
def add_evidence(
    purchase_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    evidence_files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    ensure(actor, Action.examine_purchase, purchases.view_of(purchase, campaign))
    settings: Settings = request.app.state.settings
    try:
        checked = files.check_all(settings, read_uploads(settings, evidence_files))
    except InvalidForm as bad_file:
        return purchase_page(request, session, actor, purchase, campaign, bad_file.errors)
    if not checked:
        return purchase_page(
            request,
            session,
            actor,
            purchase,
            campaign,
            {"evidence": _("Choose at least one file.")},
        )
    purchases.attach(session, settings, actor, purchase, campaign, checked)
    flash(request, ngettext("%(num)s file added.", "%(num)s files added.", len(checked)))
    return redirect(request, f"/testbuys/purchases/{purchase.id}#evidence")


def _evidence_response(
    request: Request, session: Session, actor: Actor, evidence_id: int, thumbnail: bool
) -> Response:
    item = purchases.get_evidence(session, actor, evidence_id)
    if not thumbnail:  # the original leaves the hub; a thumbnail is part of a page
        # The file's hash, not its name: the audit log's readers may not see the purchase.
        audit.taken_out(
            session, actor, "evidence.downloaded", f"testbuy-evidence:{item.id}", sha256=item.sha256
        )
    settings: Settings = request.app.state.settings
    return files.file_response(settings, item.sha256, item.content_type, item.filename, thumbnail)


@router.get("/testbuys/evidence/{evidence_id}")
def evidence_file(
    evidence_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return _evidence_response(request, session, actor, evidence_id, thumbnail=False)


@router.get("/testbuys/evidence/{evidence_id}/thumbnail")
def evidence_thumbnail(
    evidence_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return _evidence_response(request, session, actor, evidence_id, thumbnail=True)


@router.post("/testbuys/purchases/{purchase_id}/custody")
def add_custody(
    purchase_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedCustody,
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    try:
        entry = custody.append(session, actor, purchase, campaign, form)
    except InvalidForm as invalid:
        session.rollback()
        purchase, campaign = purchases.get_visible(session, actor, purchase_id)
        return purchase_page(request, session, actor, purchase, campaign, invalid.errors)
    flash(request, _("Entry %(seq)s was added to the chain of custody.", seq=entry.seq))
    return redirect(request, f"/testbuys/purchases/{purchase.id}#custody")


@router.post("/testbuys/purchases/{purchase_id}/report")
def report_to_board(
    purchase_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    purchase, campaign = purchases.get_visible(session, actor, purchase_id)
    settings: Settings = request.app.state.settings
    report, created = reporting.report(session, settings, actor, purchase, campaign)
    if created:
        flash(request, _("The verdict is on the board as a new report."))
    else:
        flash(
            request, _("The board already had this seller: the verdict was added to that report.")
        )
    return redirect(request, f"/intel/{report.id}")


@router.get("/testbuys/personas")
def persona_register(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _register_page(request, session, actor)


def _register_page(
    request: Request,
    session: Session,
    actor: Actor,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    rows = personas.register(session, actor)
    return render(
        request,
        "testbuys/personas.html",
        {
            "rows": rows,
            "errors": errors or {},
            "values": values or {},
            "groups": groups.run_by(session, actor),
        },
        status_code=422 if errors else 200,
    )


@router.post("/testbuys/personas")
def add_persona(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    group: Text = "",
    name: Text = "",
    drop_address: Text = "",
    contact: Text = "",
    accounts: Text = "",
) -> Response:
    form = personas.PersonaForm(group, name, drop_address, contact, accounts)
    try:
        persona = personas.create(session, actor, form)
    except InvalidForm as invalid:
        values = {"group": group, "name": name, "drop_address": drop_address}
        values |= {"contact": contact, "accounts": accounts}
        return _register_page(request, session, actor, invalid.errors, values)
    flash(request, _("The persona “%(name)s” was added.", name=persona.name))
    return redirect(request, f"/testbuys/personas/{persona.id}")


def _persona_page(
    request: Request,
    session: Session,
    actor: Actor,
    persona_id: int,
    errors: dict[str, str] | None = None,
) -> Response:
    persona = personas.get(session, actor, persona_id)
    return render(
        request,
        "testbuys/persona.html",
        {
            "persona": persona,
            "group": session.get(WorkingGroup, persona.group_id),
            "uses": personas.uses(session, persona),
            "errors": errors or {},
            **LABELS,
        },
        status_code=422 if errors else 200,
    )


@router.get("/testbuys/personas/{persona_id}")
def persona_detail(
    persona_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return _persona_page(request, session, actor, persona_id)


@router.post("/testbuys/personas/{persona_id}/burn")
def burn_persona(
    persona_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    reason: Text = "",
) -> Response:
    persona = personas.get(session, actor, persona_id)
    try:
        personas.burn(session, actor, persona, reason)
    except InvalidForm as invalid:
        return _persona_page(request, session, actor, persona_id, invalid.errors)
    flash(request, _("The persona is marked as burned: it is offered for no new purchase."))
    return redirect(request, f"/testbuys/personas/{persona.id}")

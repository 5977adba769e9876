"""Pages of the test-buy program: the campaign list, a campaign with its sign-ups and
roster, creating and editing campaigns, and the results."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from hub import audit
from hub.db import SessionDep, row_id
from hub.deps import CurrentActor
from hub.errors import Conflict, InvalidForm, NotFound
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.intel.models import IntelReport
from hub.members.models import OrgKind
from hub.policy import Action, Actor, can, ensure, runs_any_campaigns, visible_intel
from hub.testbuys import campaigns, personas, purchases, results, signups
from hub.testbuys.models import (
    CAMPAIGN_STATUS_LABELS,
    COST_RULE_LABELS,
    CUSTODY_KIND_LABELS,
    PURCHASE_STATUS_LABELS,
    SIGNUP_EVENT_LABELS,
    SIGNUP_STATE_LABELS,
    VERDICT_LABELS,
    Campaign,
    CampaignStatus,
)
from hub.web import flash, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]
TARGET_CHOICES = 50

LABELS = {
    "campaign_statuses": CAMPAIGN_STATUS_LABELS,
    "cost_rules": COST_RULE_LABELS,
    "signup_states": SIGNUP_STATE_LABELS,
    "purchase_statuses": PURCHASE_STATUS_LABELS,
    "verdicts": VERDICT_LABELS,
    "signup_events": SIGNUP_EVENT_LABELS,
    "custody_kinds": CUSTODY_KIND_LABELS,
}


def campaign_form(
    group: Text = "",
    title: Text = "",
    goal: Text = "",
    channels: Text = "",
    region: Text = "",
    opens_at: Text = "",
    closes_at: Text = "",
    slots: Text = "",
    max_per_brand: Text = "",
    budget: Text = "",
    currency: Text = "EUR",
    cost_rule: Text = "own",
    copied_from: Text = "",
) -> campaigns.CampaignForm:
    return campaigns.CampaignForm(
        group,
        title,
        goal,
        channels,
        region,
        opens_at,
        closes_at,
        slots,
        max_per_brand,
        budget,
        currency,
        cost_rule,
        copied_from,
    )


PostedCampaign = Annotated[campaigns.CampaignForm, Depends(campaign_form)]


def signup_form(
    requested: Text = "1",
    products: Text = "",
    targets: Text = "",
    report_ids: Annotated[list[str] | None, Form()] = None,
) -> signups.SignupForm:
    return signups.SignupForm(requested, products, targets, report_ids)


PostedSignup = Annotated[signups.SignupForm, Depends(signup_form)]


@router.get("/testbuys")
def campaign_list(
    request: Request, session: SessionDep, actor: CurrentActor, status: str = ""
) -> Response:
    return render(
        request,
        "testbuys/list.html",
        {
            "lines": campaigns.listing(session, actor, status),
            "status": status,
            "can_create": runs_any_campaigns(actor),
            **LABELS,
        },
        block="results",
    )


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: campaigns.CampaignForm,
    errors: dict[str, str] | None = None,
    campaign: Campaign | None = None,
) -> Response:
    return render(
        request,
        "testbuys/form.html",
        {
            "values": asdict(form),
            "errors": errors or {},
            "campaign": campaign,
            "groups": groups.run_by(session, actor),
            **LABELS,
        },
        status_code=422 if errors else 200,
    )


@router.get("/testbuys/new")
def new_campaign(
    request: Request, session: SessionDep, actor: CurrentActor, group: str = ""
) -> Response:
    if not runs_any_campaigns(actor):
        raise NotFound(_("Only the coordinators of a working group open test-buy campaigns."))
    return _form_page(request, session, actor, campaigns.CampaignForm(group=group))


@router.post("/testbuys")
def create_campaign(
    request: Request, session: SessionDep, actor: CurrentActor, form: PostedCampaign
) -> Response:
    if not runs_any_campaigns(actor):
        raise NotFound(_("Only the coordinators of a working group open test-buy campaigns."))
    try:
        campaign = campaigns.create(session, actor, form)
    except InvalidForm as invalid:
        return _form_page(request, session, actor, form, invalid.errors)
    flash(request, _("The campaign was saved as a draft: open it when it is ready."))
    return redirect(request, f"/testbuys/{campaign.id}")


def campaign_context(
    session: Session, actor: Actor, campaign: Campaign | campaigns.CampaignLine
) -> dict[str, object]:
    """Everything the campaign page and its fragments show, as far as the actor may see.
    Given the campaign's line (campaign, group, counts and the brand's own sign-up, one
    statement), a member's page takes six statements and a coordinator's eight."""
    line = (
        campaign
        if isinstance(campaign, campaigns.CampaignLine)
        else campaigns.line(session, actor, campaign.id or 0)
    )
    campaign, mine = line.campaign, line.mine
    runs = can(actor, Action.run_campaigns, campaign.group_id)
    may_sign_up = can(actor, Action.sign_up_brand, campaign.group_id)
    reports = (
        session.exec(
            select(IntelReport)
            .where(IntelReport.group_id == campaign.group_id, visible_intel(actor))
            .order_by(col(IntelReport.id).desc())
            .limit(TARGET_CHOICES)
        ).all()
        if may_sign_up
        else []
    )
    siblings: list[Campaign] = []
    if runs:
        siblings = list(
            session.exec(
                select(Campaign)
                .where(
                    Campaign.group_id == campaign.group_id,
                    Campaign.id != campaign.id,
                    col(Campaign.status).in_([CampaignStatus.open, CampaignStatus.closed]),
                )
                .order_by(col(Campaign.id).desc())
            )
        )
    return {
        "campaign": campaign,
        "group": line.group,
        "runs": runs,
        "may_sign_up": may_sign_up,
        "for_a_brand": actor.brand_kind == OrgKind.brand,  # the secretariat never signs up
        "window_open": signups.window_is_open(campaign),
        "mine": mine,
        "my_place": signups.place_in_queue(session, mine) if mine else None,
        "my_targets": signups.target_reports(session, actor, mine) if mine else [],
        "brands": line.brands,
        "waiting": line.waiting,
        "roster": signups.roster(session, campaign) if runs else [],
        "purchases": purchases.of_campaign(session, actor, campaign),
        "to_plan": purchases.slots_left_to_plan(session, campaign) if runs else [],
        "personas": personas.for_group(session, campaign.group_id) if runs else [],
        "siblings": siblings,
        "reports": reports,
        "next_statuses": campaigns.NEXT_STATUSES.get(campaign.status, []),
        "event_detail": signups.event_detail,
        **LABELS,
    }


def campaign_page(
    request: Request,
    session: Session,
    actor: Actor,
    campaign: Campaign | campaigns.CampaignLine,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = campaign_context(session, actor, campaign)
    context |= {"errors": errors or {}, "values": values or {}}
    return render(request, "testbuys/campaign.html", context, status_code=status_code)


@router.get("/testbuys/{campaign_id}")
def campaign_detail(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return campaign_page(request, session, actor, campaigns.line(session, actor, campaign_id))


@router.get("/testbuys/{campaign_id}/roster")
def roster(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    """The live roster (polled by htmx): sign-ups, slots taken and left, the waitlist."""
    line = campaigns.line(session, actor, campaign_id)
    ensure(actor, Action.run_campaigns, line.campaign.group_id)
    context = campaign_context(session, actor, line) | {"errors": {}, "values": {}}
    return render(request, "testbuys/_roster.html", context | {"oob": True})


@router.get("/testbuys/{campaign_id}/edit")
def edit_form(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    ensure(actor, Action.run_campaigns, campaign.group_id)
    group = session.get(WorkingGroup, campaign.group_id)
    assert group is not None
    return _form_page(
        request, session, actor, campaigns.form_of(campaign, group), campaign=campaign
    )


@router.post("/testbuys/{campaign_id}/edit")
def edit(
    campaign_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedCampaign,
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    try:
        campaigns.update(session, actor, campaign, form)
    except InvalidForm as invalid:
        return _form_page(request, session, actor, form, invalid.errors, campaign)
    flash(request, _("The campaign was saved."))
    return redirect(request, f"/testbuys/{campaign.id}")


@router.get("/testbuys/{campaign_id}/duplicate")
def duplicate(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    """A new campaign's form, filled in from this one; the window is chosen anew."""
    campaign = campaigns.get_visible(session, actor, campaign_id)
    ensure(actor, Action.run_campaigns, campaign.group_id)
    group = session.get(WorkingGroup, campaign.group_id)
    assert group is not None
    return _form_page(request, session, actor, campaigns.duplicate_form(campaign, group))


@router.post("/testbuys/{campaign_id}/status")
def change_status(
    campaign_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    status: Text = "",
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    campaigns.change_status(session, actor, campaign, status)
    flash(request, _("The campaign is now “%(status)s”.", status=CAMPAIGN_STATUS_LABELS[status]))
    return redirect(request, f"/testbuys/{campaign.id}")


@router.post("/testbuys/{campaign_id}/signup")
def sign_up(
    campaign_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedSignup,
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    try:
        signup = signups.sign_up(session, actor, campaign, form)
    except (InvalidForm, Conflict) as refused:
        session.rollback()
        errors = refused.errors if isinstance(refused, InvalidForm) else {"signup": refused.message}
        values = {"requested": form.requested, "products": form.products, "targets": form.targets}
        fresh = campaigns.get_visible(session, actor, campaign_id)
        return campaign_page(request, session, actor, fresh, errors, values, refused.status_code)
    flash(request, signups.your_standing(signup))
    return redirect(request, f"/testbuys/{campaign.id}#my-signup")


@router.post("/testbuys/{campaign_id}/withdraw")
def withdraw(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    signups.withdraw(session, actor, campaign)
    flash(request, _("Your brand withdrew from the campaign; its slots went to the waitlist."))
    return redirect(request, f"/testbuys/{campaign.id}")


@router.post("/testbuys/signups/{signup_id}/approve")
def approve(signup_id: int, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    signup, campaign = signups.get_for_runner(session, actor, signup_id)
    signups.approve(session, actor, signup, campaign)
    flash(request, _("The sign-up is approved; the brand was told."))
    return redirect(request, f"/testbuys/{campaign.id}#roster")


@router.post("/testbuys/signups/{signup_id}/reorder")
def reorder(
    signup_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    place: Text = "",
    reason: Text = "",
) -> Response:
    signup, campaign = signups.get_for_runner(session, actor, signup_id)
    try:
        signups.reorder(session, actor, signup, campaign, place, reason)
    except InvalidForm as invalid:
        message = " ".join(invalid.errors.values())
        errors = {f"reorder-{signup.id}": message}
        typed = {f"place-{signup.id}": place, f"reason-{signup.id}": reason}
        return campaign_page(request, session, actor, campaign, errors, typed, 422)
    flash(request, _("The waitlist was reordered; the reason is kept with the sign-up."))
    return redirect(request, f"/testbuys/{campaign.id}#roster")


@router.post("/testbuys/signups/{signup_id}/move")
def move(
    signup_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    to: Text = "",
    reason: Text = "",
) -> Response:
    signup, campaign = signups.get_for_runner(session, actor, signup_id)
    target_id = row_id(to)
    if target_id is None:
        raise Conflict(_("Choose the campaign to move the sign-up to."))
    target = campaigns.get_visible(session, actor, target_id)
    moved = signups.move(session, actor, signup, campaign, target, reason)
    flash(
        request,
        _(
            "The sign-up moved to “%(title)s”: %(standing)s.",
            title=target.title,
            standing=signups.standing(moved),
        ),
    )
    return redirect(request, f"/testbuys/{campaign.id}#roster")


@router.get("/testbuys/{campaign_id}/results")
def results_page(
    campaign_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    figures = results.compute(session, actor, campaign)
    return render(
        request,
        "testbuys/results.html",
        {
            "campaign": campaign,
            "group": session.get(WorkingGroup, campaign.group_id),
            "results": figures,
            "charts": results.charts(figures, campaign.currency),
            "runs": can(actor, Action.run_campaigns, campaign.group_id),
            **LABELS,
        },
    )


@router.get("/testbuys/{campaign_id}/results.csv")
def results_csv(campaign_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    campaign = campaigns.get_visible(session, actor, campaign_id)
    body = results.to_csv(results.compute(session, actor, campaign), campaign)
    audit.taken_out(session, actor, "export.campaign_results_csv", f"campaign:{campaign.id}")
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'},
    )

"""Pages of enforcement referrals: the list, referring a case from reports and purchases,
a referral with its outcome history, and recording an outcome."""

import unicodedata
from dataclasses import asdict
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from hub.clock import utcnow
from hub.db import MAX_ROW_ID, SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.events.times import to_local, viewer_zone
from hub.i18n import gettext as _
from hub.impact import referrals
from hub.impact.models import REFERRAL_STATUS_LABELS
from hub.members.countries import country_name, country_names
from hub.policy import Action, Actor, can
from hub.testbuys.models import VERDICT_LABELS
from hub.web import flash, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]
TextList = Annotated[list[str] | None, Form()]
QueryList = Annotated[list[str] | None, Query()]


def labels() -> dict[str, object]:
    """The words of the referral pages' choices, in the viewer's language."""
    names = country_names()
    return {
        "statuses": REFERRAL_STATUS_LABELS,
        "countries": names,
        # By name as a reader expects it: "Åland Islands" among the A's, not after "Zimbabwe".
        "country_choices": sorted(
            names.items(), key=lambda item: unicodedata.normalize("NFKD", item[1]).casefold()
        ),
        "currencies": referrals.CURRENCIES,
        "verdicts": VERDICT_LABELS,
    }


def referral_form(
    agency: Text = "",
    jurisdiction: Text = "",
    country: Text = "",
    sent_on: Text = "",
    contact: Text = "",
    reference: Text = "",
    summary: Text = "",
) -> referrals.ReferralForm:
    return referrals.ReferralForm(
        agency, jurisdiction, country, sent_on, contact, reference, summary
    )


PostedReferral = Annotated[referrals.ReferralForm, Depends(referral_form)]


def outcome_form(
    status: Text = "",
    raid_on: Text = "",
    suspects_arrested: Text = "",
    facilities_closed: Text = "",
    goods_seized: Text = "",
    goods_value: Text = "",
    goods_currency: Text = "",
    note: Text = "",
    version: Text = "",
) -> referrals.OutcomeForm:
    return referrals.OutcomeForm(
        status,
        raid_on,
        suspects_arrested,
        facilities_closed,
        goods_seized,
        goods_value,
        goods_currency,
        note,
        version,
    )


PostedOutcome = Annotated[referrals.OutcomeForm, Depends(outcome_form)]


def today_of(request: Request, actor: Actor) -> date:
    """The date where the actor is: what "not in the future" means to them."""
    return to_local(utcnow(), viewer_zone(request, actor)).date()


@router.get("/referrals")
def referral_list(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    group: str = "",
    status: str = "",
    before: Annotated[int | None, Query(ge=0, le=MAX_ROW_ID)] = None,
) -> Response:
    filters = referrals.ListFilters(group, status, before)
    page = referrals.listing(session, actor, filters)
    query = {"group": group, "status": status, "before": page.next_before}
    return render(
        request,
        "impact/referrals.html",
        {
            "page": page,
            "filters": filters,
            "groups": referrals.all_groups(session),
            "older_url": "/referrals?" + urlencode({k: v for k, v in query.items() if v}),
            **labels(),
        },
        block="items" if before else "results",
    )


def _form_page(
    request: Request,
    draft: referrals.Draft,
    form: referrals.ReferralForm,
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "impact/referral_form.html",
        {"draft": draft, "values": asdict(form), "errors": errors, **labels()},
        status_code=422 if errors else 200,
    )


@router.get("/referrals/new")
def new_referral(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    report: QueryList = None,
    purchase: QueryList = None,
) -> Response:
    draft = referrals.prepare(session, actor, report or [], purchase or [])
    return _form_page(request, draft, referrals.ReferralForm(), draft.problems)


@router.post("/referrals")
def create_referral(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedReferral,
    report: TextList = None,
    purchase: TextList = None,
) -> Response:
    reports, purchases = report or [], purchase or []
    try:
        referral = referrals.create(
            session, actor, form, reports, purchases, today_of(request, actor)
        )
    except InvalidForm as invalid:
        session.rollback()
        draft = referrals.prepare(session, actor, reports, purchases)
        return _form_page(request, draft, form, invalid.errors)
    flash(request, _("The referral to %(agency)s was saved.", agency=referral.agency))
    return redirect(request, f"/referrals/{referral.id}")


def referral_page(
    request: Request,
    session: Session,
    actor: Actor,
    referral_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    conflict: str = "",
    status_code: int = 200,
) -> Response:
    """The referral page, also re-shown with the outcome form's typed values and its
    errors or a conflict. Four statements."""
    seen = referrals.context(session, actor, referral_id)
    referral = seen.referral
    current = asdict(referrals.outcome_form_of(referral))
    typed = {name: value for name, value in (values or {}).items() if value or name != "version"}
    return render(
        request,
        "impact/referral.html",
        {
            "referral": referral,
            "group": seen.group,
            "brand": seen.brand,
            "creator": seen.creator,
            "country": country_name(referral.country),
            "sources": referrals.sources_of(session, referral),
            "history": referrals.history(session, referral),
            "may_record": can(actor, Action.record_outcome, referrals.view_of(referral)),
            "outcome": current | typed,
            "errors": errors or {},
            "conflict": conflict,
            **labels(),
        },
        status_code=status_code,
    )


@router.get("/referrals/{referral_id}")
def referral_detail(
    referral_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return referral_page(request, session, actor, referral_id)


@router.post("/referrals/{referral_id}/outcome")
def record_outcome(
    referral_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedOutcome,
) -> Response:
    referral = referrals.get_visible(session, actor, referral_id)
    try:
        referrals.record_outcome(session, actor, referral, form, today_of(request, actor))
    except InvalidForm as invalid:
        session.rollback()
        # The version typed against stays (unless unreadable), so an outcome recorded
        # meanwhile is still noticed when this one is sent again.
        typed = asdict(form) | ({"version": ""} if "version" in invalid.errors else {})
        return referral_page(
            request, session, actor, referral_id, invalid.errors, typed, status_code=422
        )
    except referrals.OutcomeChanged as changed:
        session.rollback()
        # Now seen, the other outcome may be overwritten: the form takes the new version.
        typed = asdict(form) | {"version": ""}
        return referral_page(
            request, session, actor, referral_id, None, typed, changed.message, status_code=409
        )
    flash(request, _("The outcome was recorded."))
    return redirect(request, f"/referrals/{referral_id}")

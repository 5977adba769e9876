"""A person's own settings: the language and time zone the hub speaks in, what reaches them
by e-mail, and their secret calendar subscription address. The language can be changed from
any page, signed in or not."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from hub import audit, i18n
from hub.auth.routes import safe_next
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import Invalid, InvalidForm, NotFound
from hub.events import feeds
from hub.events.times import TZ_COOKIE, is_zone, zone_names
from hub.i18n import gettext as _
from hub.members.models import Person
from hub.notify import topics
from hub.policy import Actor
from hub.web import flash, redirect, render

router = APIRouter()


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    chosen: dict[str, str] | None = None,
) -> Response:
    settings = request.app.state.settings
    token = feeds.token_of(session, settings, actor)
    return render(
        request,
        "members/settings.html",
        {
            "zones": zone_names(),
            "browser_language": i18n.negotiate(request.headers.get("accept-language", ""))[0],
            "browser_zone": request.cookies.get(TZ_COOKIE, ""),
            "feed_url": f"{settings.base_url.rstrip('/')}/calendar/{token}.ics",
            "topics": topics.TOPICS,
            "deliveries": topics.DELIVERY_LABELS,
            "chosen": chosen or topics.choices(session, actor.person_id),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/me")
def my_settings(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _page(request, session, actor)


@router.post("/me/time-zone")
def set_time_zone(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    time_zone: Annotated[str, Form()] = "",
) -> Response:
    """An empty choice means: follow the browser."""
    chosen = time_zone.strip()
    if chosen and not is_zone(chosen):
        error = InvalidForm(
            {"time_zone": _("Choose a time zone from the list, e.g. Europe/Paris.")}
        )
        return _page(request, session, actor, error.errors, error.status_code)
    _save_choice(session, actor, "time_zone", chosen)
    if chosen:
        flash(request, _("Times are now shown in %(zone)s.", zone=chosen))
    else:
        flash(request, _("Times are now shown in your browser’s time zone."))
    return redirect(request, "/me")


def _save_choice(session: Session, actor: Actor, field: str, value: str) -> None:
    """One of the person's own choices (time_zone, language), saved and audited."""
    person = session.get(Person, actor.person_id)
    if person is None:
        raise NotFound()
    setattr(person, field, value)
    session.add(person)
    audit.record(session, actor.audit_id, actor.label, f"person.{field}", f"person:{person.id}")
    session.commit()


@router.post("/language")
def set_language(
    request: Request,
    session: SessionDep,
    language: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """From the switcher at the foot of every page, or the settings page (where an empty
    choice means: as my browser asks). Kept in a cookie (for the sign-in page) and, for a
    signed-in person, on their profile, so their other devices and their e-mails follow."""
    if language and language not in i18n.languages():
        names = ", ".join(i18n.language_name(code) for code in i18n.languages())
        raise Invalid(_("Choose one of the languages offered: %(names)s.", names=names))
    actor: Actor | None = request.state.actor
    if actor is not None:
        _save_choice(session, actor, "language", language)
    presentation = i18n.current()
    if language:
        presentation.prefer(language, "")  # the confirmation is in the new language already
        flash(request, _("The hub now speaks %(language)s.", language=i18n.language_name(language)))
    else:
        browser, _formats = i18n.negotiate(request.headers.get("accept-language", ""))
        presentation.prefer(browser, "")
        flash(request, _("The hub now speaks the language your browser asks for."))
    response = redirect(request, safe_next(next))
    if language:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    else:
        response.delete_cookie(i18n.LANGUAGE_COOKIE)
    return response


@router.post("/me/calendar-feed")
def reset_feed(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    feeds.reset(session, request.app.state.settings, actor)
    audit.record(session, actor.audit_id, actor.label, "calendar_feed.reset", "")
    session.commit()
    flash(request, _("Your calendar address was changed; the old one no longer works."))
    return redirect(request, "/me")


@router.post("/me/e-mail")
async def set_e_mail(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    """One choice per topic; a topic missing from the form keeps what it had."""
    form = await request.form()
    chosen = {topic.key: str(form[topic.key]) for topic in topics.TOPICS if topic.key in form}
    try:
        topics.save(session, actor.person_id, chosen)
    except InvalidForm as invalid:
        current = topics.choices(session, actor.person_id) | chosen
        return _page(request, session, actor, invalid.errors, invalid.status_code, current)
    audit.record(session, actor.audit_id, actor.label, "person.e_mail_choices", "")
    session.commit()
    flash(request, _("Your e-mail choices are saved."))
    return redirect(request, "/me")

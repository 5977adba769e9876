"""Rendering pages and htmx fragments, flash messages, and the CSRF token."""

import secrets
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from markupsafe import Markup
from pydantic import BeforeValidator

from hub import ROOT, i18n, policy
from hub.events.times import span_text, to_local
from hub.members.models import ROLE_LABELS


def _blank_is_none(value: object) -> object:
    """A filter form sends an empty date field as "since=": no filter, not an error."""
    return None if value == "" else value


# A day from a filter form's query string; empty means none.
OptionalDay = Annotated[date | None, Query(), BeforeValidator(_blank_is_none)]


CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@lru_cache(maxsize=1)
def build_environment(auto_reload: bool = True) -> Environment:
    """Built once per process; it compiles each template once and keeps it. Without
    `auto_reload` (production) it does not even look at the file again."""
    env = Environment(
        loader=FileSystemLoader(ROOT / "templates"),
        auto_reload=auto_reload,
        cache_size=-1,  # every template stays compiled: there are fewer than a hundred
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    env.globals["Action"] = policy.Action
    env.globals["role_labels"] = ROLE_LABELS
    env.filters["initials"] = initials
    # For HTML that hub.intel.markdown sanitised when it was saved, and nothing else.
    env.filters["sanitised"] = Markup
    env.filters["in_zone"] = in_zone
    env.filters["event_span"] = lambda event, viewer: span_text(
        event.starts_at, event.ends_at, event.all_day, event.time_zone, viewer
    )
    return env


def in_zone(value: datetime | None, zone_name: str, skeleton: str = "") -> str:
    """A stored UTC time as the clock reads in `zone_name`, in the viewer's language: the
    moment with the zone's abbreviation ('Mar 20, 2030, 10:00 AM CST', '2030年3月20日
    10:00 CST'), or only the parts of its local day a Babel skeleton names ("MMM", "d")."""
    if value is None:
        return "—"
    if not skeleton:
        return i18n.when(value, zone_name)
    return i18n.skeleton(to_local(value, zone_name).date(), skeleton)


def initials(name: str) -> str:
    words = [word for word in name.replace("-", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


def is_fragment_request(request: Request) -> bool:
    """htmx asked for a part of the page, not a history restore or a boosted navigation."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-boosted") != "true"
    )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The whole page; only `block` when htmx asks for a fragment. A `_partial.html`
    template is always a fragment: it never takes the page's flash messages."""
    env: Environment = request.app.state.templates
    actor: policy.Actor | None = getattr(request.state, "actor", None)
    has_session = "session" in request.scope  # not in the crash handler, outside it
    ctx: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "can": (lambda action, thing=None: actor is not None and policy.can(actor, action, thing)),
        "csrf_token": csrf_token(request) if has_session else "",
        "settings": request.app.state.settings,
        **(context or {}),
    }
    partial = template.rpartition("/")[2].startswith("_")
    if block is not None and is_fragment_request(request):
        html = render_block(env, template, block, ctx)
    else:
        if not partial:
            ctx["flashes"] = request.session.pop("flash", []) if has_session else []
        html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if block is not None or partial:
        response.headers["Vary"] = "HX-Request, HX-History-Restore-Request"
    return response


def redirect(request: Request, url: str) -> Response:
    """After a successful POST: a 303 for plain forms, HX-Redirect for htmx."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def after_change(
    request: Request,
    message: str,
    redirect_to: str,
    template: str,
    context: Mapping[str, Any],
    block: str | None = None,
) -> Response:
    """htmx gets the changed part re-rendered with the message; a plain form is redirected
    (post/redirect/get) and the message shown as a flash on the next page."""
    if is_fragment_request(request):
        return render(request, template, {**context, "message": message}, block=block)
    flash(request, message)
    return redirect(request, redirect_to)

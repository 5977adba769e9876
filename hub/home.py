"""The dashboard: the signed-in person's working groups and what waits for them."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.events import schedule
from hub.events.models import REGISTRATION_STATE_LABELS
from hub.events.times import viewer_zone
from hub.groups import service as groups
from hub.intel import service as intel
from hub.intel.models import STATUS_LABELS
from hub.testbuys import campaigns
from hub.web import render

router = APIRouter()


@router.get("/")
def dashboard(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    cards = groups.all_groups(session)
    my_pending = groups.pending_of_brand(session, actor.brand_id) if actor.is_brand_admin else []
    return render(
        request,
        "home/dashboard.html",
        {
            "brand": {"id": actor.brand_id, "slug": actor.brand_slug, "name": actor.brand_name},
            "my_groups": [card for card in cards if card.group.id in actor.group_ids],
            "coordinated": [card for card in cards if card.group.id in actor.coordinated_group_ids],
            "fellows": groups.fellow_brands(session, actor),
            "latest": intel.latest_in_my_groups(session, actor),
            "statuses": STATUS_LABELS,
            "to_decide": groups.pending_for_coordinator(session, actor),
            "my_pending": my_pending,
            "campaigns": campaigns.open_for_sign_up(session, actor, limit=5),
            "events": schedule.listing(session, actor, schedule.Filters(), limit=5),
            "registration_states": REGISTRATION_STATE_LABELS,
            "zone": viewer_zone(request, actor),
        },
    )

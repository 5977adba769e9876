"""The bulk import pages: upload a file to a board, watch its progress, read the summary."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import Response

from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.intel import imports
from hub.intel.import_files import MAX_ENTRIES
from hub.intel.models import TLP_LABELS, ImportState, Tlp
from hub.policy import Action, ensure
from hub.web import is_fragment_request, redirect, render

router = APIRouter()

MARKINGS = {tlp: label for tlp, label in TLP_LABELS.items() if tlp != Tlp.red}


def _form(
    request: Request,
    group: WorkingGroup,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "intel/import.html",
        {
            "group": group,
            "markings": MARKINGS,
            "errors": errors or {},
            "values": values or {"tlp": Tlp.amber, "mode": "all"},
            "max_mb": imports.MAX_BYTES // (1024 * 1024),
            "max_entries": MAX_ENTRIES,
        },
        status_code=422 if errors else 200,
    )


@router.get("/groups/{slug}/intel/import")
def import_form(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    group = groups.get_group(session, slug)
    ensure(actor, Action.post_intel, group.id)
    return _form(request, group)


@router.post("/groups/{slug}/intel/import")
def start_import(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    file: Annotated[UploadFile | None, File()] = None,
    tlp: Annotated[str, Form(max_length=20)] = Tlp.amber,
    mode: Annotated[str, Form(max_length=10)] = "all",
) -> Response:
    group = groups.get_group(session, slug)
    ensure(actor, Action.post_intel, group.id)
    data = file.file.read(imports.MAX_BYTES + 1) if file is not None else b""
    name = (file.filename or "") if file is not None else ""
    try:
        job = imports.start(session, actor, group, name, data, tlp, mode != "valid")
    except InvalidForm as invalid:
        return _form(request, group, invalid.errors, {"tlp": tlp, "mode": mode})
    background.add_task(imports.run, request.app.state.session_factory, job.id or 0, actor)
    return redirect(request, f"/imports/{job.id}")


@router.get("/imports/{job_id}")
def import_status(
    job_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    job = imports.get_own(session, actor, job_id)
    group = session.get(WorkingGroup, job.group_id)
    return render(
        request,
        "intel/import_status.html",
        {
            "job": job,
            "group": group,
            "finished": job.state in (ImportState.done, ImportState.failed),
            "fragment": is_fragment_request(request),
        },
        block="status" if is_fragment_request(request) else None,
    )

"""Reports for tests, made through the service so they are normalised and sanitised as
real ones are."""

import io
import itertools
import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from PIL import Image
from sqlmodel import Session

from hub.auth.sessions import load_actor
from hub.config import Settings
from hub.groups.models import WorkingGroup
from hub.intel import service
from hub.intel.models import Category, IntelReport, Tlp
from hub.members.models import Brand, Person
from hub.policy import Actor

_numbers = itertools.count(1)


def actor_of(session: Session, person: Person) -> Actor:
    """The actor a signed-in `person` would be."""
    brand = session.get(Brand, person.brand_id)
    assert brand is not None
    return load_actor(session, person, brand)


def make_report(
    session: Session,
    author: Person,
    group: WorkingGroup,
    tlp: Tlp = Tlp.amber,
    title: str | None = None,
    body: str = "",
    indicators: Sequence[tuple[str, str]] = (),
    recipients: Sequence[Person] = (),
    category: str = Category.online_listing,
    marketplace: str = "",
    brands_affected: str = "",
) -> IntelReport:
    """A report posted by `author` (who must be allowed to post in `group`)."""
    form = service.ReportForm(
        title=title or f"Report {next(_numbers)}",
        body_md=body,
        category=category,
        marketplace=marketplace,
        brands_affected=brands_affected,
        tlp=tlp,
        recipients=", ".join(person.email for person in recipients),
        indicators=list(indicators),
    )
    return service.create_report(session, actor_of(session, author), group, form)


def picture(seed: str = "evidence") -> bytes:
    """A small PNG whose colour (and so whose SHA-256) depends on `seed`."""
    number = zlib.crc32(seed.encode())
    colour = (number & 255, (number >> 8) & 255, (number >> 16) & 255)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


def uploads_at(settings: Settings, directory: Path) -> Settings:
    """Settings whose evidence store is in `directory`, for files made before any app."""
    return settings.model_copy(update={"upload_dir": str(directory / "uploads")})


def uploads_in(app: FastAPI, settings: Settings, directory: Path) -> Settings:
    """Point the app's evidence store at a test's own directory; return those settings."""
    own = uploads_at(settings, directory)
    app.state.settings = own
    return own


def uploads_copied(app: FastAPI, settings: Settings, shared: Settings, directory: Path) -> Settings:
    """Like `uploads_in`, the directory starting with a copy of the files a module shares:
    a test finds the shared rows' files, and none another test added."""
    own = uploads_in(app, settings, directory)
    shutil.copytree(shared.upload_dir, own.upload_dir)
    return own

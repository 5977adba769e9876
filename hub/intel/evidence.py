"""Evidence files: checked by their content, stored once by SHA-256, served only to
people who may read the report they belong to."""

import errno
import hashlib
import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastapi.responses import FileResponse
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.config import Settings
from hub.errors import InvalidForm, NotFound
from hub.i18n import gettext as _
from hub.intel.models import Evidence, IntelReport
from hub.policy import Actor, visible_intel

log = logging.getLogger("hub")

THUMBNAIL_SIZE = (480, 480)
# Pillow refuses images above this many pixels (decompression bombs); 40 megapixels
# covers any phone photo or screenshot.
MAX_PIXELS = 40_000_000
KINDS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    upload: Upload
    content_type: str
    sha256: str
    width: int | None
    height: int | None


def clean_filename(name: str) -> str:
    """The name an uploaded file is kept and shown under: its last path part (a Windows
    path too), without control or invisible formatting characters (NUL, line breaks,
    right-to-left overrides that dress "gpj.exe" as "exe.jpg"), at most 255 characters
    with its extension kept; "evidence" when nothing is left of it."""
    last = re.split(r"[\\/]", name)[-1]
    kept = "".join(c for c in last if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if not kept.strip(". "):
        return "evidence"
    if len(kept) <= 255:
        return kept
    stem, dot, extension = kept.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return f"{stem[: 254 - len(extension)]}.{extension}"
    return kept[:255]


def sniff(data: bytes) -> str | None:
    """The type the bytes really are, whatever the name or the browser claims."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check(settings: Settings, upload: Upload) -> Checked:
    """Return what the file is, or raise a message naming the file and the reason."""
    name = clean_filename(upload.filename) if upload.filename else _("(unnamed file)")
    limit = settings.max_upload_mb * 1024 * 1024

    def refuse(message: str) -> InvalidForm:
        return InvalidForm({"evidence": message})

    if not upload.data:
        raise refuse(_("%(file)s: the file is empty.", file=name))
    if len(upload.data) > limit:
        raise refuse(
            _(
                "%(file)s: the file is larger than %(mb)s MB.",
                file=name,
                mb=i18n.number(settings.max_upload_mb),
            )
        )
    content_type = sniff(upload.data)
    if content_type is None:
        head = upload.data[:512].lstrip().lower()
        if head.startswith((b"<svg", b"<?xml", b"<!doctype html", b"<html")):
            raise refuse(
                _(
                    "%(file)s: SVG and HTML files are not accepted (they can carry scripts).",
                    file=name,
                )
            )
        raise refuse(
            _(
                "%(file)s: only JPEG, PNG, WebP images and PDF documents are accepted.",
                file=name,
            )
        )
    width = height = None
    if content_type in KINDS:
        width, height = _image_size(upload.data, KINDS[content_type], name, refuse)
    return Checked(upload, content_type, hashlib.sha256(upload.data).hexdigest(), width, height)


def _image_size(
    data: bytes, expected: str, name: str, refuse: Callable[[str], InvalidForm]
) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != expected:
                    raise refuse(
                        _("%(file)s: the picture's content does not match its type.", file=name)
                    )
                if image.width * image.height > MAX_PIXELS:
                    raise refuse(_("%(file)s: the picture has too many pixels.", file=name))
                image.verify()
                size = image.width, image.height
            # verify() reads the structure but decodes no pixel: decode them as the
            # thumbnail will, so a picture cut short is refused here, not a crash on storing.
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail(THUMBNAIL_SIZE)
                image.load()  # a picture smaller than a thumbnail is not decoded by it
            return size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise refuse(_("%(file)s: the picture is too large to open safely.", file=name)) from error
    # ValueError: a text chunk or colour profile inflating past Pillow's limit.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise refuse(
            _("%(file)s: the picture is damaged and cannot be read.", file=name)
        ) from error


def file_response(
    settings: Settings, sha256: str, content_type: str, filename: str, thumbnail: bool
) -> FileResponse:
    """A stored file for a reader the caller has checked: pictures open in the browser,
    PDFs download, under the uploader's own name."""
    path = stored_path(settings, sha256, thumbnail=thumbnail)
    if not path.exists():
        raise NotFound(_("The file is missing from the evidence store."))
    if thumbnail:
        return FileResponse(path, media_type="image/jpeg")
    disposition = "inline" if content_type.startswith("image/") else "attachment"
    return FileResponse(
        path, media_type=content_type, filename=filename, content_disposition_type=disposition
    )


def stored_path(settings: Settings, sha256: str, thumbnail: bool = False) -> Path:
    suffix = ".thumb.jpg" if thumbnail else ""
    return Path(settings.upload_dir) / sha256[:2] / f"{sha256}{suffix}"


class StoreFull(InvalidForm):
    """The disk under the evidence store is full: nothing of the form is saved, and the form
    comes back with what was typed."""

    status_code = 507

    def __init__(self) -> None:
        super().__init__(
            {
                "evidence": _(
                    "The hub has no room left to store files, so nothing was saved. "
                    "Your text is still here: try again later, or send it without the files. "
                    "The alliance's secretariat has been alerted."
                )
            }
        )


def store(settings: Settings, checked: Checked) -> None:
    """Keep the original (and a thumbnail of a picture), each written whole or not at all."""
    path = stored_path(settings, checked.sha256)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _write_whole(path, lambda out: out.write(checked.upload.data))
        thumb = stored_path(settings, checked.sha256, thumbnail=True)
        if checked.content_type in KINDS and not thumb.exists():
            with Image.open(io.BytesIO(checked.upload.data)) as image:
                image.thumbnail(THUMBNAIL_SIZE)
                small = image.convert("RGB")
            _write_whole(thumb, lambda out: small.save(out, "JPEG", quality=82))
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        log.error("the evidence store at %s is full: %s", settings.upload_dir, error)
        raise StoreFull() from error


def _write_whole(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write next to `path`, then rename: a reader never sees half a file, and a failed
    write (a full disk) leaves nothing behind."""
    temporary = path.with_name(path.name + ".part")
    try:
        with temporary.open("wb") as out:
            write(out)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def check_all(settings: Settings, uploads: list[Upload]) -> list[Checked]:
    """Check every file before any is kept, so a bad one saves nothing."""
    return [check(settings, upload) for upload in uploads if upload.filename or upload.data]


def attach(
    session: Session, settings: Settings, actor: Actor, report: IntelReport, files: list[Checked]
) -> list[Evidence]:
    """Store checked files (originals byte for byte) and record who added them, when.
    The caller commits, so evidence and its report are saved together."""
    added: list[Evidence] = []
    for checked in files:
        store(settings, checked)
        evidence = Evidence(
            report_id=report.id or 0,
            sha256=checked.sha256,
            filename=clean_filename(checked.upload.filename),
            content_type=checked.content_type,
            size=len(checked.upload.data),
            width=checked.width,
            height=checked.height,
            uploaded_by_id=actor.person_id,
        )
        session.add(evidence)
        added.append(evidence)
    if added:
        audit.record(
            session,
            actor.audit_id,
            actor.label,
            "intel.evidence_added",
            f"report:{report.id}",
            # By content only: a file's name is the report's words, and the log is read
            # by alliance and brand admins who may not read the report.
            files=[e.sha256 for e in added],
        )
    return added


def of_report(session: Session, report: IntelReport) -> list[Evidence]:
    return list(
        session.exec(
            select(Evidence).where(Evidence.report_id == report.id).order_by(col(Evidence.id))
        )
    )


def get_visible(session: Session, actor: Actor, evidence_id: int) -> Evidence:
    """The file, if the reader may read its report; otherwise it does not exist."""
    evidence = session.exec(
        select(Evidence)
        .join(IntelReport, col(IntelReport.id) == Evidence.report_id)
        .where(Evidence.id == evidence_id, visible_intel(actor))
    ).first()
    if evidence is None:
        raise NotFound(_("There is no such file, or it is not shared with you."))
    return evidence

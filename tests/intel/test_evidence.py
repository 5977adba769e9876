"""Evidence files: checked by content, size-limited, kept byte for byte by SHA-256, served
with safe headers only to those who may read the report; bad files named and refused."""

import hashlib
import io
import random
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, func, select

from hub.app import create_app
from hub.clock import utcnow
from hub.config import Settings
from hub.intel.models import Evidence, IntelReport, Tlp
from tests.conftest import ClientAs, World, _bound_session
from tests.intel.factories import make_report

BOARD = "/groups/apparel-t/intel"
LIMIT_MB = 1


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Connection, upload_dir: Path) -> FastAPI:
    """The hub as conftest builds it, storing evidence in the test's own directory with a
    1 MB limit."""
    own = settings.model_copy(update={"max_upload_mb": LIMIT_MB, "upload_dir": str(upload_dir)})
    app = create_app(own, engine)
    app.state.session_factory = lambda: _bound_session(connection)
    return app


def image(kind: str, size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, "PDF")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A small PNG declaring 20,000 × 20,000 pixels: a decompression bomb."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")
    return buffer.getvalue()


def report_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "EvidenceShop77 selling fake jackets",
        "body_md": "Forty listings, photos attached.",
        "category": "seller",
        "marketplace": "Vinted",
        "brands_affected": "Brand A",
        "products_affected": "Jackets",
        "infringement": "counterfeit",
        "confidence": "confirmed",
        "reliability": "A",
        "tlp": "green",
        "recipients": "",
        "indicator_kind": ["shop_name"],
        "indicator_value": ["EvidenceShop77"],
    }
    form.update(changes)
    return form


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Files as a browser sends them; the client MIME type always claims a PNG."""
    return [("evidence_files", (name, data, "image/png")) for name, data in items]


def _evidence(db: Session) -> list[Evidence]:
    db.expire_all()
    return list(db.exec(select(Evidence).order_by(col(Evidence.id))))


def _stored_files(upload_dir: Path) -> list[Path]:
    return sorted(p for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else []


def _report_count(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(IntelReport)).one()


@pytest.fixture
def report(db: Session, world: World) -> IntelReport:
    """A TLP:AMBER report by member_a, readable by brand B but not brand C."""
    return make_report(db, world.member_a, world.apparel, Tlp.amber, title="Amber jackets")


# --- accepted files ----------------------------------------------------------------------

ACCEPTED = {
    "photo.jpg": ("image/jpeg", image("JPEG")),
    "screenshot.png": ("image/png", image("PNG")),
    "listing.webp": ("image/webp", image("WEBP")),
    "test-buy receipt.pdf": ("application/pdf", pdf()),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_file_is_kept_byte_for_byte(
    name: str, world: World, db: Session, client_as: ClientAs, upload_dir: Path
) -> None:
    """JPEG, PNG, WebP and PDF are accepted with the report, stored under their SHA-256
    exactly as sent, and recorded with who uploaded them and when."""
    content_type, data = ACCEPTED[name]
    browser = client_as(world.member_a)
    response = browser.post(BOARD, data=report_form(), files=_files((name, data)))
    assert response.status_code == 303, response.text
    [item] = _evidence(db)
    sha = hashlib.sha256(data).hexdigest()
    assert (item.filename, item.content_type, item.sha256, item.size) == (
        name,
        content_type,
        sha,
        len(data),
    )
    assert item.uploaded_by_id == world.member_a.id
    assert utcnow() - item.uploaded_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    assert response.headers["location"] == f"/intel/{item.report_id}"
    stored = upload_dir / sha[:2] / sha
    assert stored.read_bytes() == data
    download = browser.get(f"/evidence/{item.id}")
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"].startswith(content_type)
    page = browser.get(f"/intel/{item.report_id}").text
    assert name in page and sha[:16] in page


@pytest.mark.parametrize("name", ["photo.jpg", "screenshot.png", "listing.webp"])
def test_pictures_get_a_jpeg_thumbnail(
    name: str, world: World, db: Session, client_as: ClientAs
) -> None:
    """Each picture gets a small JPEG thumbnail, served from its own address."""
    browser = client_as(world.member_a)
    browser.post(BOARD, data=report_form(), files=_files((name, ACCEPTED[name][1])))
    [item] = _evidence(db)
    assert (item.width, item.height) == (64, 48)
    thumb = browser.get(f"/evidence/{item.id}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (64, 48)


def test_big_picture_thumbnail_is_small(world: World, db: Session, client_as: ClientAs) -> None:
    """A large photo's thumbnail fits in 480 × 480 and keeps its proportions."""
    browser = client_as(world.member_a)
    browser.post(BOARD, data=report_form(), files=_files(("big.png", image("PNG", (2000, 1000)))))
    [item] = _evidence(db)
    with Image.open(io.BytesIO(browser.get(f"/evidence/{item.id}/thumbnail").content)) as thumb:
        assert thumb.size == (480, 240)


def test_pdf_has_no_thumbnail(world: World, db: Session, client_as: ClientAs) -> None:
    """A PDF has no thumbnail: its address answers 404."""
    browser = client_as(world.member_a)
    browser.post(BOARD, data=report_form(), files=_files(("receipt.pdf", pdf())))
    [item] = _evidence(db)
    assert browser.get(f"/evidence/{item.id}/thumbnail").status_code == 404


def test_several_files_at_once(world: World, db: Session, client_as: ClientAs) -> None:
    """Several files sent together are all attached, in the order chosen."""
    files = _files(
        ("one.png", image("PNG", colour="red")),
        ("two.jpg", image("JPEG", colour="blue")),
        ("three.pdf", pdf()),
    )
    response = client_as(world.member_a).post(BOARD, data=report_form(), files=files)
    assert response.status_code == 303
    assert [e.filename for e in _evidence(db)] == ["one.png", "two.jpg", "three.pdf"]


def test_type_comes_from_the_content_not_the_name(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A JPEG named .png (and sent as image/png) is stored and served as the JPEG it is."""
    client_as(world.member_a).post(
        BOARD, data=report_form(), files=_files(("really-a-jpeg.png", image("JPEG")))
    )
    [item] = _evidence(db)
    assert item.content_type == "image/jpeg"


def test_same_file_twice_is_stored_once(
    world: World, db: Session, client_as: ClientAs, upload_dir: Path
) -> None:
    """The store is content-addressed: one file on disk, two evidence records."""
    data = image("PNG")
    browser = client_as(world.member_a)
    browser.post(BOARD, data=report_form(), files=_files(("a.png", data)))
    browser.post(BOARD, data=report_form(title="Second"), files=_files(("b.png", data)))
    first, second = _evidence(db)
    assert first.sha256 == second.sha256 and first.report_id != second.report_id
    sha = first.sha256
    assert _stored_files(upload_dir) == [
        upload_dir / sha[:2] / sha,
        upload_dir / sha[:2] / f"{sha}.thumb.jpg",
    ]


def test_a_path_in_the_filename_is_dropped(world: World, db: Session, client_as: ClientAs) -> None:
    """A file name carrying a path keeps only its last part."""
    client_as(world.member_a).post(
        BOARD, data=report_form(), files=_files(("../../etc/evil.png", image("PNG")))
    )
    [item] = _evidence(db)
    assert item.filename == "evil.png"


# --- refused files -----------------------------------------------------------------------

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
REFUSED = {
    "logo.svg": (SVG, "SVG and HTML files are not accepted"),
    "bare.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                 "SVG and HTML files are not accepted"),
    "page.html": (b"<!DOCTYPE html><html><script>alert(1)</script></html>",
                  "SVG and HTML files are not accepted"),
    "page-as.png": (b"  <html><body onload=alert(1)></body></html>",
                    "SVG and HTML files are not accepted"),
    "setup.exe.png": (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200,
                      "only JPEG, PNG, WebP images and PDF documents are accepted"),
    "notes.txt.png": (b"just some text, not a picture",
                      "only JPEG, PNG, WebP images and PDF documents are accepted"),
    "empty.png": (b"", "the file is empty"),
    "huge.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * (LIMIT_MB * 1024 * 1024),
                 f"the file is larger than {LIMIT_MB} MB"),
    "broken.png": (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "damaged"),
    "gif-as.png": (b"GIF89a" + b"\x00" * 40,
                   "only JPEG, PNG, WebP images and PDF documents are accepted"),
}  # fmt: skip


def _refused(name: str, bomb: bytes) -> tuple[bytes, str]:
    if name == "bomb.png":
        return bomb, "too large to open safely"
    return REFUSED[name]


REFUSED_NAMES = [*REFUSED, "bomb.png"]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_bad_file_is_refused_by_name_keeping_the_form(
    name: str, bomb: bytes, world: World, db: Session, client_as: ClientAs, upload_dir: Path
) -> None:
    """A bad file answers 422 with a message naming it and the reason; the typed fields
    come back and nothing (report or file) is saved."""
    data, reason = _refused(name, bomb)
    form = report_form(
        title="Typed title kept", body_md="Typed **body** kept", marketplace="Typed market"
    )
    response = client_as(world.member_a).post(BOARD, data=form, files=_files((name, data)))
    assert response.status_code == 422
    assert f"{name}: " in response.text
    assert reason in response.text
    assert 'value="Typed title kept"' in response.text
    assert "Typed **body** kept</textarea>" in response.text
    assert 'value="Typed market"' in response.text
    assert 'value="EvidenceShop77"' in response.text
    assert '<option value="green" selected>' in response.text
    assert _report_count(db) == 0
    assert _evidence(db) == []
    assert _stored_files(upload_dir) == []


def test_one_bad_file_among_good_ones_saves_nothing(
    world: World, db: Session, client_as: ClientAs, upload_dir: Path
) -> None:
    """Every file is checked before any is kept: a bad one refuses the whole post."""
    files = _files(("good.png", image("PNG")), ("bad.svg", SVG), ("good.pdf", pdf()))
    response = client_as(world.member_a).post(BOARD, data=report_form(), files=files)
    assert response.status_code == 422
    assert "bad.svg: SVG and HTML files are not accepted" in response.text
    assert _report_count(db) == 0
    assert _stored_files(upload_dir) == []


def test_bad_file_and_bad_fields_are_reported_together(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A bad file does not hide the other mistakes of the form: all are shown at once."""
    response = client_as(world.member_a).post(
        BOARD, data=report_form(title=""), files=_files(("bad.svg", SVG))
    )
    assert response.status_code == 422
    assert "bad.svg: SVG" in response.text
    assert "Give the report a title" in response.text


@pytest.fixture
def small_disk(upload_dir: Path) -> Iterator[Path]:
    """The evidence store on a 512 KB file system of its own (a tmpfs: needs root, which the
    test machines have), filled up but for 20 KB."""
    upload_dir.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(upload_dir)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        filler = upload_dir / "filler"
        free = shutil.disk_usage(upload_dir).free
        filler.write_bytes(bytes(free - 20 * 1024))
        yield upload_dir
    finally:
        subprocess.run(["umount", "-l", str(upload_dir)], check=False)


def test_a_full_disk_keeps_the_form_saves_nothing_and_leaves_no_partial_file(
    world: World, db: Session, client_as: ClientAs, small_disk: Path
) -> None:
    noise = Image.frombytes("RGB", (200, 200), random.Random(7).randbytes(200 * 200 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")  # about 120 KB: random pixels do not compress
    reports = _report_count(db)
    browser = client_as(world.member_a)

    response = browser.post(
        BOARD,
        data=report_form(title="Kept through a full disk"),
        files=_files(("n.png", buffer.getvalue())),
    )
    assert response.status_code == 507
    assert "no room left to store files" in response.text
    assert 'value="Kept through a full disk"' in response.text
    assert _report_count(db) == reports and _evidence(db) == []
    assert [path.name for path in _stored_files(small_disk)] == ["filler"]

    (small_disk / "filler").unlink()
    response = browser.post(
        BOARD,
        data=report_form(title="Kept through a full disk"),
        files=_files(("n.png", buffer.getvalue())),
    )
    assert response.status_code == 303
    [item] = _evidence(db)
    assert (small_disk / item.sha256[:2] / item.sha256).read_bytes() == buffer.getvalue()


def test_a_file_at_the_limit_is_accepted(world: World, db: Session, client_as: ClientAs) -> None:
    """A PDF of exactly HUB_MAX_UPLOAD_MB is accepted; the limit is inclusive."""
    head = pdf()
    data = head + b"\n" * (LIMIT_MB * 1024 * 1024 - len(head))
    response = client_as(world.member_a).post(
        BOARD, data=report_form(), files=_files(("full.pdf", data))
    )
    assert response.status_code == 303
    [item] = _evidence(db)
    assert item.size == LIMIT_MB * 1024 * 1024


# --- adding evidence to a report ---------------------------------------------------------


@pytest.mark.parametrize("who", ["member_a", "admin_a", "coordinator"])
def test_authors_brand_and_coordinators_may_add_evidence(
    who: str, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """The author, their brand's colleagues and the group's coordinators add files later."""
    person = getattr(world, who)
    response = client_as(person).post(
        f"/intel/{report.id}/evidence", files=_files(("later.png", image("PNG")))
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/intel/{report.id}#evidence"
    [item] = _evidence(db)
    assert (item.report_id, item.uploaded_by_id) == (report.id, person.id)
    assert 'name="evidence_files"' in client_as(person).get(f"/intel/{report.id}").text


@pytest.mark.parametrize(("who", "status"), [("member_b", 403), ("alliance_admin", 403)])
def test_other_readers_may_not_add_evidence(
    who: str, status: int, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Readers of another brand see the report but may not add to its evidence: 403."""
    browser = client_as(getattr(world, who))
    response = browser.post(
        f"/intel/{report.id}/evidence", files=_files(("later.png", image("PNG")))
    )
    assert response.status_code == status
    assert _evidence(db) == []
    assert 'name="evidence_files"' not in browser.get(f"/intel/{report.id}").text


def test_those_who_cannot_see_get_404_when_adding_evidence(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Someone the report is not shared with is told it does not exist."""
    response = client_as(world.member_c).post(
        f"/intel/{report.id}/evidence", files=_files(("later.png", image("PNG")))
    )
    assert response.status_code == 404
    assert "Amber jackets" not in response.text
    assert _evidence(db) == []


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_bad_file_added_later_is_refused_by_name(
    name: str, bomb: bytes, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Adding a bad file to a report answers 422 on the report page, naming the file."""
    data, reason = _refused(name, bomb)
    response = client_as(world.member_a).post(
        f"/intel/{report.id}/evidence", files=_files((name, data))
    )
    assert response.status_code == 422
    assert f"{name}: " in response.text and reason in response.text
    assert "<h1>Amber jackets</h1>" in response.text
    assert _evidence(db) == []


def test_adding_no_file_asks_for_one(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Sending the form without a file says to choose one."""
    response = client_as(world.member_a).post(f"/intel/{report.id}/evidence", data={"x": "1"})
    assert response.status_code == 422
    assert "Choose at least one file." in response.text


# --- serving -----------------------------------------------------------------------------


@pytest.fixture
def served(world: World, db: Session, client_as: ClientAs) -> dict[str, Evidence]:
    files = _files(("photo é.png", image("PNG")), ("notice.pdf", pdf()))
    client_as(world.member_a).post(BOARD, data=report_form(), files=files)
    picture, document = _evidence(db)
    return {"picture": picture, "document": document}


def test_picture_is_served_inline_with_nosniff(
    world: World, client_as: ClientAs, served: dict[str, Evidence]
) -> None:
    """A picture opens in the browser, under its own name, and is never sniffed."""
    response = client_as(world.member_b).get(f"/evidence/{served['picture'].id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert "filename*=utf-8''photo%20%C3%A9.png" in disposition


def test_pdf_is_downloaded_with_nosniff(
    world: World, client_as: ClientAs, served: dict[str, Evidence]
) -> None:
    """A PDF is served as an attachment, so it is saved rather than opened in the hub."""
    response = client_as(world.member_b).get(f"/evidence/{served['document'].id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'attachment; filename="notice.pdf"'


def test_thumbnail_carries_nosniff(
    world: World, client_as: ClientAs, served: dict[str, Evidence]
) -> None:
    """Thumbnails carry the same no-sniffing header."""
    response = client_as(world.member_b).get(f"/evidence/{served['picture'].id}/thumbnail")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_evidence_needs_a_sign_in(client: TestClient, served: dict[str, Evidence]) -> None:
    """An anonymous browser is sent to sign in, not given the file."""
    response = client.get(f"/evidence/{served['picture'].id}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_unknown_evidence_is_404(world: World, client_as: ClientAs) -> None:
    """A file number that does not exist answers 404."""
    assert client_as(world.member_a).get("/evidence/999999").status_code == 404


def test_missing_file_on_disk_is_404(
    world: World, client_as: ClientAs, served: dict[str, Evidence], upload_dir: Path
) -> None:
    """If the store lost the file, the hub says so rather than crashing."""
    sha = served["picture"].sha256
    (upload_dir / sha[:2] / sha).unlink()
    assert client_as(world.member_a).get(f"/evidence/{served['picture'].id}").status_code == 404


def test_evidence_is_stored_outside_static(
    served: dict[str, Evidence], upload_dir: Path, repo_root: Path
) -> None:
    """Files live in the upload directory only, named by hash, never under static/."""
    names = {p.name for p in _stored_files(upload_dir)}
    for item in served.values():
        assert item.sha256 in names
        assert not list((repo_root / "static").rglob(f"{item.sha256}*"))

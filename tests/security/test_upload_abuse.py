"""Evidence uploads under abuse, beyond what tests/intel/test_evidence.py covers: polyglot
files (a picture or a PDF carrying HTML and script), zip bombs named .png or .pdf, tiny
pictures declaring billions of pixels, truncated pictures, oversized text and EXIF chunks,
and file names built to mislead (NUL bytes, Windows paths, 1,000 characters, right-to-left
overrides, only dots, nothing at all), on a report's and a test buy's evidence and on the
bulk import's file.

Proves: each file is either refused with a 4xx and a message beside the file field that
names it (escaped), storing nothing on disk and changing no row, or accepted safely: kept
under a clean name, served with the type its content has, never sniffed, under the
Content-Security-Policy, PDFs as downloads, thumbnails re-encoded without the payload.
File names are sent as raw multipart bytes, so they reach the hub exactly as a hostile
client would send them (an HTTP library would percent-encode some of them).
"""

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from PIL import Image
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from hub.app import create_app
from hub.config import Settings
from hub.intel.models import Evidence, ImportJob, IntelReport, Tlp
from hub.testbuys.models import PurchaseEvidence
from tests.conftest import ClientAs, World, _bound_session
from tests.intel.factories import make_report
from tests.security.test_form_fuzz import fingerprint, table_names
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

BOARD = "/groups/apparel-t/intel"
LIMIT_MB = 1
BOUNDARY = "hub-upload-abuse-7d1f0c9e2b"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Connection, upload_dir: Path) -> FastAPI:
    """The hub storing evidence in the test's own directory, with a 1 MB limit."""
    own = settings.model_copy(update={"max_upload_mb": LIMIT_MB, "upload_dir": str(upload_dir)})
    app = create_app(own, engine)
    app.state.session_factory = lambda: _bound_session(connection)
    return app


@pytest.fixture
def report(db: Session, world: World) -> IntelReport:
    """A TLP:AMBER report of member_a, with no evidence yet."""
    return make_report(db, world.member_a, world.apparel, Tlp.amber, title="Abused report")


# --- files --------------------------------------------------------------------------------


def image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A noisy picture: its compressed data is long enough to cut in half meaningfully."""
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, kind)
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int, *chunks: bytes, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG made by hand: a header declaring `width` × `height`, then `chunks`, then the end."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + b"".join(chunks) + chunk(b"IEND", b"")


def png_with(*chunks: bytes) -> bytes:
    """A real 64 × 48 PNG with `chunks` inserted right after its header chunk."""
    data = image("PNG")
    after_header = len(PNG_SIGNATURE) + 25
    return data[:after_header] + b"".join(chunks) + data[after_header:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is changed to declare another size."""
    data = bytearray(image("JPEG"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_with_exif(size: int) -> bytes:
    """A real JPEG with an APP1 EXIF segment of `size` bytes of noise (65,533 at most)."""
    data = image("JPEG")
    payload = b"Exif\x00\x00" + bytes(i * 7 % 251 for i in range(size - 6))
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


def zip_bomb() -> bytes:
    """A zip of 64 MB of zeros, about 64 KB on the wire."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.bin", bytes(64 * 1024 * 1024))
    return buffer.getvalue()


def pdf_document(body: bytes) -> bytes:
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


HTML_PAYLOAD = b"<html><body><script>alert('hub-upload')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


# --- sending and looking ------------------------------------------------------------------


def multipart(
    files: list[tuple[bytes, bytes]],
    fields: dict[str, str | list[str]] | None = None,
    file_field: str = "evidence_files",
) -> tuple[bytes, dict[str, str]]:
    """A multipart body with the file names as raw bytes, as a hostile client sends them."""
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        for item in [value] if isinstance(value, str) else value:
            parts.append(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + item.encode()
                + b"\r\n"
            )
    for filename, data in files:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; '.encode()
            + b'filename="'
            + filename
            + b'"\r\nContent-Type: image/png\r\n\r\n'
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def add_evidence(browser: TestClient, report: IntelReport, *files: tuple[bytes, bytes]) -> Response:
    body, headers = multipart(list(files))
    return browser.post(f"/intel/{report.id}/evidence", content=body, headers=headers)


def post_report(browser: TestClient, *files: tuple[bytes, bytes]) -> Response:
    form: dict[str, str | list[str]] = {
        "title": "Report with abusive evidence",
        "body_md": "Photos attached.",
        "category": "seller",
        "infringement": "counterfeit",
        "confidence": "probable",
        "reliability": "B",
        "tlp": "green",
        "indicator_kind": ["shop_name"],
        "indicator_value": ["AbuseShop"],
    }
    body, headers = multipart(list(files), form)
    return browser.post(BOARD, content=body, headers=headers)


def stored_files(upload_dir: Path) -> list[Path]:
    return sorted(p for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else []


def evidence_rows(db: Session) -> list[Evidence]:
    db.expire_all()
    return list(db.exec(select(Evidence).order_by(col(Evidence.id))))


def message_beside_the_field(page: str) -> str:
    """The error shown with the file field (new report form or a report's evidence form)."""
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no message beside the file field"
    return found.group(1)


def assert_refused(
    response: Response, shown_name: str, reasons: tuple[str, ...], upload_dir: Path
) -> None:
    """422 with a message naming the file (escaped) and why; nothing kept on disk."""
    assert response.status_code == 422, response.text[:500]
    message = message_beside_the_field(response.text)
    assert message.startswith(escape(shown_name) + ": "), message
    assert any(reason in message for reason in reasons), message
    assert stored_files(upload_dir) == []


def assert_served_safely(browser: TestClient, item: Evidence, content_type: str) -> Response:
    """The file comes with the type its content has, never sniffed, under the CSP; pictures
    inline, everything else as a download."""
    response = browser.get(f"/evidence/{item.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    disposition = response.headers["content-disposition"]
    expected = "inline" if content_type.startswith("image/") else "attachment"
    assert disposition.split(";")[0] == expected, disposition
    return response


# --- polyglots ----------------------------------------------------------------------------

POLYGLOT_PICTURES = {
    "png-then-html.png": ("image/png", image("PNG") + HTML_PAYLOAD),
    "jpeg-then-html.jpg": ("image/jpeg", image("JPEG") + HTML_PAYLOAD),
    "png-then-script.png": ("image/png", image("PNG") + b"\n<script src=//evil.example/x.js>"),
}


@pytest.mark.parametrize("name", list(POLYGLOT_PICTURES))
def test_picture_with_html_appended_is_only_ever_a_picture(
    name: str, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A real picture with a web page glued to its end is accepted (the picture is fine),
    served as the picture type with nosniff and the CSP, so no browser runs the page; the
    thumbnail is re-encoded from the pixels and does not carry it."""
    content_type, data = POLYGLOT_PICTURES[name]
    browser = client_as(world.member_a)
    assert add_evidence(browser, report, (name.encode(), data)).status_code == 303
    [item] = evidence_rows(db)
    assert item.content_type == content_type
    assert assert_served_safely(browser, item, content_type).content == data
    thumbnail = browser.get(f"/evidence/{item.id}/thumbnail")
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    assert b"<script" not in thumbnail.content and b"<html" not in thumbnail.content


def test_pdf_with_a_web_page_inside_is_only_downloaded(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A PDF whose body is HTML is kept as the PDF it claims to be and only ever
    downloaded (attachment, application/pdf, nosniff): a browser never renders it."""
    data = pdf_document(HTML_PAYLOAD)
    browser = client_as(world.member_a)
    assert add_evidence(browser, report, (b"notice.pdf", data)).status_code == 303
    [item] = evidence_rows(db)
    assert_served_safely(browser, item, "application/pdf")
    assert browser.get(f"/evidence/{item.id}/thumbnail").status_code == 404


def test_web_page_with_a_pdf_header_inside_is_refused(
    world: World, db: Session, connection: Connection, client_as: ClientAs, upload_dir: Path
) -> None:
    """A web page carrying a PDF header further in is a web page: refused by name."""
    data = b"<!DOCTYPE html>" + HTML_PAYLOAD + b"\n" + pdf_document(b"")
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = post_report(browser, (b"statement.pdf", data))
    assert_refused(response, "statement.pdf", ("SVG and HTML files are not accepted",), upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


# --- bombs and lies about size ------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb_zip() -> bytes:
    return zip_bomb()


@pytest.mark.parametrize("name", ["zeros.png", "zeros.pdf"])
def test_zip_bomb_named_as_a_picture_or_pdf_is_refused(
    name: str,
    bomb_zip: bytes,
    world: World,
    connection: Connection,
    client_as: ClientAs,
    report: IntelReport,
    upload_dir: Path,
) -> None:
    """A zip bomb named .png or .pdf is refused by its content; the hub never inflates it."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = add_evidence(browser, report, (name.encode(), bomb_zip))
    reason = "only JPEG, PNG, WebP images and PDF documents are accepted"
    assert_refused(response, name, (reason,), upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


def test_zip_bomb_behind_a_png_signature_is_refused(
    bomb_zip: bytes,
    world: World,
    connection: Connection,
    client_as: ClientAs,
    report: IntelReport,
    upload_dir: Path,
) -> None:
    """A PNG signature glued before a zip bomb does not make it a picture."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = add_evidence(browser, report, (b"zeros.png", PNG_SIGNATURE + bomb_zip))
    assert_refused(response, "zeros.png", ("damaged",), upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


def test_zip_bomb_behind_a_pdf_header_is_kept_as_sent_and_only_downloaded(
    bomb_zip: bytes, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Behind a PDF header a zip is a (broken) PDF: the hub keeps it byte for byte, at its
    own small size (it never inflates a file), and only serves it as a download."""
    data = pdf_document(bomb_zip)
    browser = client_as(world.member_a)
    assert add_evidence(browser, report, (b"zeros.pdf", data)).status_code == 303
    [item] = evidence_rows(db)
    assert item.size == len(data)
    assert assert_served_safely(browser, item, "application/pdf").content == data


HUGE_DECLARED = {
    # A header declaring ten billion pixels, and no image data at all.
    "no-data.png": declared_png(100_000, 100_000),
    # The widest row PNG allows, one pixel high, with a few bytes of data.
    "widest-row.png": declared_png(2**31 - 1, 1, chunk(b"IDAT", zlib.compress(b"\x00" * 64))),
    # 16-bit RGBA at the largest size, its data behind ancillary chunks.
    "behind-chunks.png": declared_png(
        65_535,
        65_535,
        chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)),
        chunk(b"tEXt", b"Comment\x00tiny file, huge picture"),
        chunk(b"IDAT", zlib.compress(b"")),
        depth=16,
        colour=6,
    ),
    # A real JPEG whose frame header claims 65,500 × 65,500.
    "frame-header.jpg": jpeg_declaring(65_500, 65_500),
}


@pytest.mark.parametrize("name", list(HUGE_DECLARED))
def test_tiny_file_declaring_a_huge_picture_is_refused(
    name: str,
    world: World,
    connection: Connection,
    client_as: ClientAs,
    report: IntelReport,
    upload_dir: Path,
) -> None:
    """A file of a few bytes declaring billions of pixels is refused before it is decoded."""
    data = HUGE_DECLARED[name]
    assert len(data) < 5_000
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = add_evidence(browser, report, (name.encode(), data))
    reasons = ("too large to open safely", "too many pixels", "damaged")
    assert_refused(response, name, reasons, upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


# --- damaged pictures and oversized metadata ----------------------------------------------

TRUNCATED = {
    "half.jpg": image("JPEG")[: len(image("JPEG")) // 2],
    "no-end.png": image("PNG")[:-20],
    "half.webp": image("WEBP")[: len(image("WEBP")) // 2],
}


@pytest.mark.parametrize("name", list(TRUNCATED))
def test_truncated_picture_is_refused_as_damaged(
    name: str,
    world: World,
    connection: Connection,
    client_as: ClientAs,
    report: IntelReport,
    upload_dir: Path,
) -> None:
    """A picture cut short is refused as damaged, on the report form and when added."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    file = (name.encode(), TRUNCATED[name])
    assert_refused(add_evidence(browser, report, file), name, ("damaged",), upload_dir)
    assert_refused(post_report(browser, file), name, ("damaged",), upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


TEXT_BOMBS = {
    # 8 MB of text, compressed to a few kilobytes, in a zTXt chunk.
    "text-bomb.png": png_with(
        chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 8_000_000, 9))
    ),
    # An ICC profile that inflates to 8 MB.
    "profile-bomb.png": png_with(
        chunk(b"iCCP", b"profile\x00\x00" + zlib.compress(bytes(8_000_000), 9))
    ),
}


@pytest.mark.parametrize("name", list(TEXT_BOMBS))
def test_picture_with_a_compressed_text_bomb_is_refused(
    name: str,
    world: World,
    connection: Connection,
    client_as: ClientAs,
    report: IntelReport,
    upload_dir: Path,
) -> None:
    """A picture whose metadata inflates to megabytes is refused, not a crash."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = add_evidence(browser, report, (name.encode(), TEXT_BOMBS[name]))
    assert_refused(response, name, ("damaged", "too large to open safely"), upload_dir)
    assert fingerprint(connection, table_names(connection)) == before


BIG_METADATA = {
    "long-comment.png": ("image/png", png_with(chunk(b"tEXt", b"Comment\x00" + b"x" * 900_000))),
    "big-exif.jpg": ("image/jpeg", jpeg_with_exif(65_533)),
}


@pytest.mark.parametrize("name", list(BIG_METADATA))
def test_picture_with_big_metadata_is_kept_and_its_thumbnail_drops_it(
    name: str, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A picture with a large (uncompressed) text chunk or EXIF segment within the size
    limit is a valid picture: kept byte for byte, while its thumbnail carries none of the
    metadata (which could hold where a test buyer lives)."""
    content_type, data = BIG_METADATA[name]
    browser = client_as(world.member_a)
    assert add_evidence(browser, report, (name.encode(), data)).status_code == 303
    [item] = evidence_rows(db)
    assert assert_served_safely(browser, item, content_type).content == data
    thumbnail = browser.get(f"/evidence/{item.id}/thumbnail").content
    assert len(thumbnail) < 20_000
    assert b"Exif" not in thumbnail and b"xxxxxxxx" not in thumbnail


# --- file names ---------------------------------------------------------------------------

# Sent name (raw bytes) → the name the hub keeps and shows.
CLEANED_NAMES = {
    b"evil\x00.png": "evil.png",
    b"..\\..\\evil.png": "evil.png",
    b"C:\\Users\\buyer\\Desktop\\evil.png": "evil.png",
    b"\\\\fileserver\\share\\evil.png": "evil.png",
    b"../../evil.png": "evil.png",
    "invoice\u202egnp.exe".encode(): "invoicegnp.exe",
    "\u2067photo\u2069 \u200b.png".encode(): "photo .png",
    b"tab\there.png": "tabhere.png",
    b"...": "evidence",
    b"..": "evidence",
    b" ": "evidence",
}
LONG_NAME = b"a" * 996 + b".png"


def _clean(name: str) -> bool:
    """A name that is one plain file name: no path, no control or invisible formatting
    characters, not only dots, short enough to store."""
    invisible = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
    return (
        0 < len(name) <= 255
        and "/" not in name
        and "\\" not in name
        and not invisible.search(name)
        and name.strip(". ") != ""
    )


def _shown(sent: bytes) -> str:
    """A test id for a sent name: its start, readable."""
    return ascii(sent[:24])[2:-1] + ("..." if len(sent) > 24 else "")


@pytest.mark.parametrize("sent", [*CLEANED_NAMES, LONG_NAME], ids=_shown)
def test_misleading_file_name_is_kept_clean(
    sent: bytes, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A good picture under a misleading name is accepted under a clean name, which the
    report page shows escaped and the download carries in a well-formed header."""
    browser = client_as(world.member_a)
    data = image("PNG")
    response = add_evidence(browser, report, (sent, data))
    assert response.status_code == 303, response.text[:500]
    [item] = evidence_rows(db)
    assert _clean(item.filename), repr(item.filename)
    if sent == LONG_NAME:
        assert item.filename.endswith(".png") and item.filename.startswith("aaaa")
    else:
        assert item.filename == CLEANED_NAMES[sent]
    page = browser.get(f"/intel/{report.id}").text
    assert f">{escape(item.filename)}</a>" in page
    download = browser.get(f"/evidence/{item.id}")
    assert download.status_code == 200 and download.content == data
    assert not re.search(r"[\x00-\x1f\\]", download.headers["content-disposition"])


REFUSED_NAMES = {
    b"<svg onload=alert('hub-upload')>.svg": "<svg onload=alert('hub-upload')>.svg",
    b"evil\x00.svg": "evil.svg",
    b"..\\..\\evil.svg": "evil.svg",
    "logo\u202egvs.png".encode(): "logogvs.png",
    b"b" * 996 + b".svg": "b" * 251 + ".svg",
}


@pytest.mark.parametrize("sent", list(REFUSED_NAMES), ids=_shown)
def test_refusal_names_the_file_cleanly_and_escaped(
    sent: bytes,
    world: World,
    db: Session,
    connection: Connection,
    client_as: ClientAs,
    upload_dir: Path,
) -> None:
    """A refused file is named in the message beside the field by its clean name, escaped;
    the form comes back, and nothing is kept on disk or in the database."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = post_report(browser, (sent, SVG))
    shown = REFUSED_NAMES[sent]
    assert_refused(response, shown, ("SVG and HTML files are not accepted",), upload_dir)
    assert "<svg onload" not in response.text
    assert 'value="Report with abusive evidence"' in response.text
    assert fingerprint(connection, table_names(connection)) == before


def test_a_file_without_a_name_is_no_file(
    world: World, db: Session, connection: Connection, client_as: ClientAs, report: IntelReport
) -> None:
    """A part with an empty file name is what a browser sends when no file was chosen: the
    evidence form asks for a file, and nothing is kept."""
    browser = client_as(world.member_a)
    before = fingerprint(connection, table_names(connection))
    response = add_evidence(browser, report, (b"", image("PNG")))
    assert response.status_code == 422
    assert "Choose at least one file." in response.text
    assert fingerprint(connection, table_names(connection)) == before


IMPORT_CSV = b"title,listing_url\nImported under an odd name,https://shop.example/odd\n"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"reports\x00.csv", "reports.csv"),
        (b"..\\..\\exports\\reports.csv", "reports.csv"),
        ("\u202ereports.csv".encode(), "reports.csv"),
    ],
    ids=["nul", "windows-path", "rtl-override"],
)
def test_bulk_import_keeps_a_clean_file_name(
    sent: bytes, kept: str, world: World, db: Session, client_as: ClientAs
) -> None:
    """The bulk import's CSV upload keeps the same clean name as evidence does (a NUL in a
    name would not even fit in PostgreSQL)."""
    body, headers = multipart([(sent, IMPORT_CSV)], {"tlp": "amber", "mode": "all"}, "file")
    response = client_as(world.member_a).post(f"{BOARD}/import", content=body, headers=headers)
    assert response.status_code == 303, response.text[:500]
    db.expire_all()
    job = db.exec(select(ImportJob).where(ImportJob.person_id == world.member_a.id)).one()
    assert job.filename == kept


@pytest.mark.parametrize("sent", [b"receipt\x00.png", b"..\\..\\receipt.png"], ids=_shown)
def test_test_buy_evidence_keeps_a_clean_file_name(
    sent: bytes, world: World, db: Session, client_as: ClientAs
) -> None:
    """A test-buy purchase's evidence keeps the same clean name as a report's."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    purchase = make_purchase(db, world.coordinator, campaign, sign_up(db, world.admin_a, campaign))
    body, headers = multipart([(sent, image("PNG"))])
    url = f"/testbuys/purchases/{purchase.id}/evidence"
    response = client_as(world.coordinator).post(url, content=body, headers=headers)
    assert response.status_code == 303, response.text[:500]
    db.expire_all()
    [item] = db.exec(select(PurchaseEvidence).where(PurchaseEvidence.purchase_id == purchase.id))
    assert item.filename == "receipt.png"

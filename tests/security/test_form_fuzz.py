"""Every form of the hub, sent bad input by someone the form is for: bodies chosen by
hypothesis from random text, 100,000-character values, text where numbers or dates belong,
empty, missing and repeated fields, Unicode confusables and bidirectional overrides, NUL and
other control characters, SQL- and HTML-shaped strings, huge and negative numbers and
impossible dates (0000-00-00, 9999-12-31), with odd files where a form takes files.

For every example it proves: never a 5xx; a 4xx answer says why in an HTML page or fragment
(never a stack trace) and leaves every table of the database exactly as it was; markup sent
in comes back escaped, on the answer and on the page a success leads to, and no page links
to a javascript: address. Fixed examples keep the inputs that once caused a 500, and a NUL
in a search or filter form's address is refused as clearly. The JSON API under /api/v1 is
fuzzed by schemathesis (tests/api/test_schemathesis.py), not here.

Hypothesis picks new inputs on each run and prints the falsifying example (the form it sent
and the answer) on a failure. HUB_FUZZ_EXAMPLES sets the number of examples per form for a
longer hunt (the default keeps the module well under a minute).
"""

import hashlib
import os
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from types import UnionType
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI, params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import Session

from hub.app import create_app
from hub.config import Settings
from hub.testbuys.campaigns import DATETIME_FORMAT
from tests import test_authorization_matrix as main_matrix
from tests.api import test_developer_matrix as developer_matrix
from tests.conftest import TEST_SECRET, ClientAs, World
from tests.events import test_matrix as event_matrix
from tests.impact import test_matrix as impact_matrix
from tests.intel.factories import picture
from tests.testbuys import test_matrix as buy_matrix

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "8"))
# A form without fields can only be sent strays and repeats: a few examples say enough.
EXAMPLES_WITHOUT_FIELDS = max(2, EXAMPLES // 3)

FormData = Mapping[str, str | list[str]]
FileParts = dict[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Domain:
    """One matrix file: its routes' answers per role, and a valid form for each route."""

    rows: Mapping[tuple[str, str], tuple[main_matrix.Answer, ...]]
    forms: Mapping[tuple[str, str], Callable[[Any], FormData]]
    files: Mapping[tuple[str, str], Callable[[Any], FileParts]]


DOMAINS = {
    "main": Domain(main_matrix.MATRIX, main_matrix.FORMS, main_matrix.FILES),
    "buys": Domain(buy_matrix.TESTBUY_MATRIX, buy_matrix.FORMS, buy_matrix.FILES),
    "events": Domain(event_matrix.EVENT_MATRIX, event_matrix.FORMS, event_matrix.FILES),
    "developers": Domain(
        developer_matrix.DEVELOPER_MATRIX, developer_matrix.FORMS, developer_matrix.FILES
    ),
    "impact": Domain(impact_matrix.IMPACT_MATRIX, impact_matrix.FORMS, impact_matrix.FILES),
}
DOMAIN_OF_FORM = {
    path: name
    for name, domain in DOMAINS.items()
    for method, path in domain.rows
    if method == "POST"
}

# --- what bad input looks like ----------------------------------------------------------

# Single quotes only: a multipart file name carries no double quote unescaped.
MARKUP = (
    "<script>alert('hub-fuzz')</script>",
    "'><img src=x onerror=alert('hub-fuzz')>",
    "<svg/onload=alert('hub-fuzz')>",
    "<a href='javascript:alert(1)'>hub-fuzz</a>",
)
INJECTIONS = (
    *MARKUP,
    "javascript:alert('hub-fuzz')",
    " JaVaScRiPt:alert(1)",
    "' OR '1'='1",
    "1; DROP TABLE person; --",
    '" OR 1=1 --',
    "') UNION SELECT email, name FROM person --",
    "%' AND 1=1 --",
    "{{ settings.secret_key }}",
    "{% for x in range(99999999) %}{% endfor %}",
    "${7*7}",
    "%s%s%s%n",
)
CONFUSABLES = (
    "Bra\u043dd A",  # a Cyrillic "н" for the n
    "\u0430pparel-t",  # a Cyrillic "а"
    "invoice\u202egpj.exe",
    "\u202eevil\u202c",
    "\u2066isolated\u2069",
    "zero\u200bwidth\u200djoin",
    "\ufeffbyte order mark",
    "e\u0301\u0301\u0301\u0301",
    "\U0001d401\U0001d42b\U0001d41a\U0001d427\U0001d41d",  # mathematical bold letters
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\U0010ffff",
    "İstanbul ß ﬁ",
    "line\u2028separator",
)
CONTROL = (
    "\x00",
    "nul\x00inside",
    "\x00" * 8,
    "cr\rlf\n",
    "\r\nX-Injected: yes",
    "\x1b[31mred",
    "\x7f\x08",
)
NUMBERS = (
    "0",
    "-1",
    "-0",
    "1.5",
    "-2147483649",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "1" + "0" * 40,
    "9" * 5000,
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "0x1F",
    "1_000",
    "\u0663",  # an Arabic-Indic three: int() reads it
    "\u00b2",  # a superscript two: str.isdigit() says yes, int() says no
    "1\u00b2\u00b3",
    "+7",
    " 3 ",
    ".5",
    "1,5",
    "€12",
)
DATES = (
    "0000-00-00",
    "0000-00-00T00:00",
    "9999-12-31",
    "9999-12-31T23:59",
    "0001-01-01",
    "0001-01-01T00:00",
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-01-01T24:00",
    "2024-01-01T23:60",
    "24:00",
    "23:59:60",
    "-0001-01-01",
    "10000-01-01",
    "1970-01-01T00:00Z",
    "2024-06-01T12:00+14:00",
    "yesterday",
    "1/2/2024",
)
WORDS = (
    "",
    " ",
    "   \t ",
    "true",
    "off",
    "null",
    "None",
    "[]",
    "{}",
    "admin",
    "alliance_admin",
    "RED",
    "amber+strict",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "Not/AZone",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "a@b",
    "x@y@z",
    "member.a@brand-a.example\r\nBcc: all@example.com",
    "https://",
    "http://[::1",
    "//evil.example",
    "/\\evil.example",
)
LONG = (
    "x" * 100_000,
    "é" * 100_000,
    "<script>" * 12_500,
    "\u202e" * 50_000,
    "9" * 100_000,
    " " * 100_000,
)

BAD_VALUE = st.one_of(
    st.sampled_from(INJECTIONS + CONFUSABLES + CONTROL + NUMBERS + DATES + WORDS),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda moment: moment.strftime(DATETIME_FORMAT)),
    st.sampled_from(LONG),
)
# A field sent bad: left out, one bad value, or the field repeated.
BAD_FIELD = st.one_of(st.none(), BAD_VALUE, st.lists(BAD_VALUE, min_size=2, max_size=3))
BAD_LIST = st.one_of(st.none(), st.lists(BAD_VALUE, max_size=4))

# An HTTP client percent-encodes control characters in a file name (a browser does too);
# tests/security/test_upload_abuse.py sends raw ones.
FILE_NAMES = st.one_of(
    st.sampled_from(
        (
            "a.png",
            "",
            "..",
            "../../etc/passwd.png",
            "C:\\Users\\x\\evil.pdf",
            "x" * 1000 + ".png",
            "invoice\u202egnp.exe",
            "<svg/onload=alert('hub-fuzz')>.png",
            "nul\x00.png",
        )
    ),
    st.text(max_size=30),
)
FILE_CONTENTS = (
    b"",
    b"\x00" * 16,
    b"plain text, not a picture",
    b"<script>alert('hub-fuzz')</script>",
    b"%PDF-1.4\n%%EOF\n",
    b"\x89PNG\r\n\x1a\n",
    picture("form-fuzz"),
    b"title,listing_url\n<script>alert('hub-fuzz')</script>,javascript:alert(1)\n",
    bytes(range(256)),
)
BAD_FILES = st.lists(st.tuples(FILE_NAMES, st.sampled_from(FILE_CONTENTS)), max_size=2)
STRAY_FIELDS = st.dictionaries(st.text(min_size=1, max_size=12), BAD_VALUE, max_size=2)


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 120 else f"{shown[:100]}… ({len(shown)} characters)"


class Sent:
    """One example: the fields, the files, and whether it came as an htmx request. (Not a
    dataclass: hypothesis prints a failing example through __repr__, which shortens the
    100,000-character values.)"""

    def __init__(
        self,
        data: dict[str, str | list[str]],
        files: list[tuple[str, tuple[str, bytes, str]]],
        htmx: bool,
    ) -> None:
        self.data = data
        self.files = files
        self.htmx = htmx

    def texts(self) -> Iterator[str]:
        for value in self.data.values():
            yield from [value] if isinstance(value, str) else value
        for _, (filename, _, _) in self.files:
            yield filename

    def __repr__(self) -> str:
        fields = ", ".join(f"{name!r}: {_short(value)}" for name, value in self.data.items())
        files = ", ".join(
            f"{name!r}: ({_short(f[0])}, {len(f[1])} bytes)" for name, f in self.files
        )
        return f"Sent(data={{{fields}}}, files=[{files}], htmx={self.htmx})"


@dataclass(frozen=True)
class Form:
    """A form as its route declares it, and what a valid submission of it holds."""

    url: str
    fields: dict[str, str]  # name: "text", "list" or "file"
    valid: FormData
    valid_files: FileParts = field(default_factory=dict)


@st.composite
def bad_bodies(draw: st.DrawFn, form: Form) -> Sent:
    """The valid form with some fields made bad (often one or two, sometimes all), and
    perhaps fields the form does not know."""
    names = sorted(form.fields)
    spoiled = set(draw(st.lists(st.sampled_from(names), unique=True))) if names else set()
    data: dict[str, str | list[str]] = {}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for name in names:
        kind = form.fields[name]
        if kind == "file":
            if name in spoiled:
                files += [(name, (n, content, "image/png")) for n, content in draw(BAD_FILES)]
            elif name in form.valid_files:
                files.append((name, form.valid_files[name]))
            continue
        value = form.valid.get(name) if name not in spoiled else draw(_bad_for(kind))
        if value is not None:
            data[name] = value
    for name, value in draw(STRAY_FIELDS).items():
        data.setdefault(name, value)
    return Sent(data, files, draw(st.booleans()))


def _bad_for(kind: str) -> st.SearchStrategy[str | list[str] | None]:
    return BAD_LIST if kind == "list" else BAD_FIELD


# --- the forms of the app -----------------------------------------------------------------


def _post_routes(app: FastAPI) -> dict[str, APIRoute]:
    """The app's POST routes by path, included routers opened up; mounted apps (the API,
    static files) are not the app's own forms."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate is not None else list(app.routes)
    found: dict[str, APIRoute] = {}
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and "POST" in original.methods:
            found[getattr(route, "path", original.path)] = original
    return found


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def declared_fields(route: APIRoute) -> dict[str, str]:
    """The form fields and files the route's dependencies read (FastAPI's body params)."""
    fields: dict[str, str] = {}
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for param in dependant.body_params:
            info = param.field_info
            kind = "file" if isinstance(info, params.File) else "text"
            fields[param.alias] = "list" if kind == "text" and _is_list(info.annotation) else kind
        pending.extend(dependant.dependencies)
    return fields


def form_of(declared: dict[str, str], path: str, domain: Domain, target: Any) -> Form:
    """The route's own fields, and those of the matrix's valid form (some routes read their
    form themselves, so FastAPI does not know those)."""
    valid = domain.forms[("POST", path)](target)
    fields = {name: "list" if isinstance(value, list) else "text" for name, value in valid.items()}
    fields |= declared
    files = domain.files.get(("POST", path))
    return Form(target.url(path), fields, valid, files(target) if files else {})


def role_for(answers: tuple[main_matrix.Answer, ...]) -> str:
    """A signed-in role the matrix lets use the form; else the first one it answers at all
    (the sign-in form, which everyone is refused without a started sign-in)."""
    pairs = list(zip(main_matrix.ROLES, answers, strict=True))
    for role, answer in pairs:
        if role != "anonymous" and answer in (main_matrix.DONE, 200, 201):
            return role
    return next((role for role, answer in pairs if answer != main_matrix.SIGN_IN), "anonymous")


# --- what every answer must be ------------------------------------------------------------

TOLD_WHY = re.compile(r'class="(?:flash flash-error|error)"|role="alert"')


class ScriptLinks(HTMLParser):
    """The links, sources and form targets of a page's real tags that would run script
    (attribute values as a browser reads them: entities decoded, blanks ignored)."""

    ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            address = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name in self.ATTRIBUTES and address.startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def told_why(response: Response) -> bool:
    """An HTML answer with an error message in it (or htmx told where to sign in)."""
    if response.status_code == 401 and "hx-redirect" in response.headers:
        return True
    is_html = response.headers.get("content-type", "").startswith("text/html")
    return is_html and TOLD_WHY.search(response.text) is not None


def assert_escaped(page: str, sent: Sent, where: str) -> None:
    """Markup that was sent never comes back as markup; no link runs script; no secret."""
    sent_markup = [payload for payload in MARKUP if any(payload in t for t in sent.texts())]
    for payload in sent_markup:
        assert payload not in page, f"{where} echoes {payload!r} unescaped"
    assert ScriptLinks(page).found == [], f"{where} links to a javascript: address"
    assert TEST_SECRET not in page, f"{where} shows the secret key"


# What a refusal writes on purpose: rate-limit counters (refused attempts count too) and
# the audit log's record of a refused action (403).
COUNTED_ON_REFUSAL = {"rate_counter"}
RECORDED_ON_REFUSAL = {"audit_entry": "action <> 'access.denied'"}


# The page a form is sent from, where opening it the first time writes something (the
# settings page makes the person's calendar address): opened before the baseline is taken.
PAGES_OF_FORMS = {"/me/time-zone": ["/me"], "/me/e-mail": ["/me"]}


def table_names(connection: Connection) -> list[str]:
    tables = inspect(connection).get_table_names()
    return sorted(name for name in tables if name not in COUNTED_ON_REFUSAL)


def fingerprint(connection: Connection, tables: list[str]) -> dict[str, str]:
    """A checksum of every row of every table: any change, anywhere, shows (but for what a
    refusal records on purpose)."""
    sums = {}
    for name in tables:
        where = f" WHERE {RECORDED_ON_REFUSAL[name]}" if name in RECORDED_ON_REFUSAL else ""
        query = text(f'SELECT * FROM "{name}"{where}')
        rows = sorted(repr(tuple(row)) for row in connection.execute(query))
        sums[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return sums


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


@contextmanager
def undone(connection: Connection) -> Iterator[None]:
    """Everything the example did is rolled back: each one starts from the same rows."""
    nested = connection.begin_nested()
    try:
        yield
    finally:
        nested.rollback()


def next_page(response: Response) -> str | None:
    """Where a success sends the browser, if it is a page of the hub."""
    location = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    return location if location.startswith("/") and not location.startswith("//") else None


def send(browser: TestClient, url: str, sent: Sent) -> Response:
    headers = {"HX-Request": "true"} if sent.htmx else {}
    return browser.post(url, data=sent.data, files=sent.files or None, headers=headers)


# --- the test world -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sides(
    module_db: Session, module_world: World, settings: Settings, shared_uploads: Settings
) -> dict[str, dict[str, Any]]:
    """The things every matrix file builds for its forms (reports, campaigns, purchases,
    events, tokens...), built once in this module's world; each form's test runs in a
    savepoint, and each example in a savepoint of that."""
    built = {
        "main": main_matrix._build_targets(module_db, module_world, settings, shared_uploads),
        "buys": buy_matrix._build_buys(module_db, module_world, shared_uploads),
        "events": event_matrix._build_sides(module_db, module_world, settings),
        "developers": {
            "apparel": developer_matrix._side(module_db, settings, module_world.admin_a),
            "toys": developer_matrix._side(module_db, settings, module_world.admin_c),
        },
        "impact": impact_matrix._build_sides(module_db, module_world),
    }
    module_db.commit()
    return built


@pytest.fixture(scope="module")
def forms_declared(settings: Settings, engine: Engine) -> dict[str, dict[str, str]]:
    """The fields of every POST route, read once: listing an app's routes is slow."""
    routes = _post_routes(create_app(settings, engine))
    return {path: declared_fields(route) for path, route in routes.items()}


@pytest.fixture
def connection(sides: dict[str, dict[str, Any]], savepoint: Connection) -> Connection:
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    return module_world


# --- the tests ------------------------------------------------------------------------------


def test_every_form_of_the_app_is_fuzzed(forms_declared: dict[str, dict[str, str]]) -> None:
    """Each POST route of the app (the API apart) is in this module's list, so a new form
    is fuzzed the day it is added."""
    assert sorted(set(forms_declared) - set(DOMAIN_OF_FORM)) == []
    assert sorted(set(DOMAIN_OF_FORM) - set(forms_declared)) == []


def test_fields_are_read_from_the_routes(forms_declared: dict[str, dict[str, str]]) -> None:
    """The field listing sees fields a dependency declares, lists and files."""
    report = forms_declared["/groups/{slug}/intel"]
    assert report["title"] == "text"
    assert report["indicator_kind"] == "list"
    assert report["evidence_files"] == "file"
    assert forms_declared["/intel/{report_id}/merge"] == {"into": "text"}


def test_the_script_link_check_sees_real_links_only() -> None:
    """The javascript: link check finds such links in real tags however they are written,
    and not in text that shows markup escaped (as a comment quoting one does)."""
    assert ScriptLinks("<a href=' JaVa&#115;cript:alert(1)'>x</a>").found
    assert ScriptLinks("<form action=javascript:void(0)></form>").found
    assert ScriptLinks("<p>&lt;a href='javascript:alert(1)'&gt;x&lt;/a&gt;</p>").found == []


@dataclass
class FormCase:
    """A form, someone the matrix lets use it, signed in, and the database as it was."""

    path: str
    role: str
    form: Form
    browser: TestClient
    cookie: str
    connection: Connection
    tables: list[str]
    untouched: dict[str, str]

    def try_input(self, sent: Sent) -> int:
        """Send `sent` as if nothing had been sent before, check the answer (and the page a
        success leads to), then undo what it did. Returns the answer's status."""
        self.browser.cookies.clear()
        self.browser.cookies.set("hub_session", self.cookie)
        with undone(self.connection):
            response = send(self.browser, self.form.url, sent)
            where = f"POST {self.form.url} as {self.role} answered {response.status_code}"
            if currently_in_test_context():
                note(f"{where}: {_short(response.text)}")
            assert response.status_code < 500, where
            assert "Traceback" not in response.text, where
            if 400 <= response.status_code < 500:
                assert told_why(response), f"{where} without saying why"
                after = fingerprint(self.connection, self.tables)
                assert changed_tables(self.untouched, after) == [], f"{where} but changed rows"
            assert_escaped(response.text, sent, where)
            onwards = next_page(response)
            if onwards is not None:
                page = self.browser.get(onwards)
                assert page.status_code < 500, f"{where}, then GET {onwards}: {page.status_code}"
                assert_escaped(page.text, sent, f"{where}, then GET {onwards}")
            return response.status_code


@pytest.fixture
def form_case(
    app: FastAPI,
    connection: Connection,
    world: World,
    sides: dict[str, dict[str, Any]],
    uploads_copy: Settings,
    client_as: ClientAs,
    forms_declared: dict[str, dict[str, str]],
) -> Callable[[str], FormCase]:
    def prepare(path: str) -> FormCase:
        domain_name = DOMAIN_OF_FORM[path]
        domain = DOMAINS[domain_name]
        role = role_for(domain.rows[("POST", path)])
        target = sides[domain_name][main_matrix.COLUMNS[role][1]]
        browser = main_matrix._browser(app, client_as, world, role)
        form = form_of(forms_declared[path], path, domain, target)
        for page in PAGES_OF_FORMS.get(path, ()):
            assert browser.get(page).status_code == 200
        tables = table_names(connection)
        cookie = browser.cookies["hub_session"]
        untouched = fingerprint(connection, tables)
        return FormCase(path, role, form, browser, cookie, connection, tables, untouched)

    return prepare


@pytest.mark.parametrize("path", sorted(DOMAIN_OF_FORM))
def test_bad_input_gets_a_clear_refusal_and_changes_nothing(
    path: str, form_case: Callable[[str], FormCase]
) -> None:
    """Bad input to the form never causes a 5xx; a 4xx says why and changes no row; what
    was sent comes back escaped."""
    case = form_case(path)

    @settings(
        max_examples=EXAMPLES if case.form.fields else EXAMPLES_WITHOUT_FIELDS,
        deadline=None,
        database=None,  # a failure is printed (with its reproduce blob), not kept
        derandomize=False,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def bad_input(data: st.DataObject) -> None:
        case.try_input(data.draw(bad_bodies(case.form), label=f"sent to {path} as {case.role}"))

    bad_input()


# Inputs that once answered 500, kept as fixed examples: (form, fields changed from the
# valid form, the answer now). 303: the form did its work, ignoring an id no form shows or
# cutting a long reason.
ONCE_BROKE: list[tuple[str, dict[str, str], int]] = [
    ("/events/{event_id}/handover", {"colleague": "9223372036854775808"}, 422),
    ("/events/{event_id}/handover", {"colleague": "9" * 100_000}, 422),
    ("/brands/{slug}/join-requests", {"group_id": "9223372036854775808"}, 422),
    ("/intel/{report_id}/merge", {"into": "2147483648"}, 422),
    ("/intel/{report_id}/merge", {"into": "-2147483649"}, 422),
    ("/intel/{report_id}/comments", {"parent_id": "99999999999999999999"}, 422),
    ("/admin/brands", {"group_ids": "9223372036854775808"}, 422),
    ("/testbuys/{campaign_id}/purchases", {"signup": "\u00b2"}, 422),
    ("/testbuys/{campaign_id}/purchases", {"persona": "2147483648"}, 422),
    ("/testbuys/{campaign_id}/purchases", {"examined_on": "0000-00-00"}, 422),
    ("/testbuys", {"copied_from": "9223372036854775808"}, 303),
    ("/testbuys/{campaign_id}/signup", {"report_ids": "\u00b2"}, 303),
    ("/testbuys/signups/{signup_id}/move", {"to": "2147483648"}, 409),
    ("/intel/{report_id}/hide", {"reason": "\x00"}, 422),
    ("/intel/{report_id}/hide", {"reason": "x" * 100_000}, 303),  # kept cut to 1,000
    ("/brands/{slug}/sso", {"client_id": "x" * 100_000}, 422),
    ("/brands/{slug}/sso", {"admin_claim": "groups", "admin_value": "x" * 100_000}, 422),
    ("/events", {"starts_on": "9999-12-31", "ends_on": "9999-12-31", "all_day": "on"}, 422),
    (
        "/events/{event_id}/edit",
        {"time_zone": "Asia/Tokyo", "starts_on": "0001-01-01", "starts_time": "00:00"},
        422,
    ),
]


@pytest.mark.parametrize(
    ("path", "changes", "status"),
    ONCE_BROKE,
    ids=[f"{path}-{','.join(changes)}-{len(str(changes))}" for path, changes, _ in ONCE_BROKE],
)
def test_input_that_once_broke_a_form_is_answered_clearly(
    path: str, changes: dict[str, str], status: int, form_case: Callable[[str], FormCase]
) -> None:
    """The valid form with fields set to an input that once caused a 500 (a number too
    large for the database, a digit int() cannot read, a NUL, a value longer than its
    column, a date the form does not show) now gets a clear answer and changes nothing
    when refused."""
    case = form_case(path)
    assert case.try_input(Sent({**case.form.valid, **changes}, [], htmx=False)) == status


NUL_ADDRESSES = [
    "/intel/search?q=fake%00shop",
    "/intel/search?group=%00",
    "/intel/indicators?kind=shop_name&value=%00",
    "/groups/apparel-t/intel?marketplace=%00",
    "/brands/%00",
]


@pytest.mark.parametrize("url", NUL_ADDRESSES)
def test_nul_in_a_search_or_an_address_is_refused_clearly(
    url: str, world: World, client_as: ClientAs
) -> None:
    """Search and filter forms send their fields in the address: a NUL there is refused
    with a message too (PostgreSQL cannot compare text holding one)."""
    response = client_as(world.member_a).get(url)
    assert response.status_code == 422
    assert told_why(response)
    assert "NUL character" in response.text

"""Every piece of text a member reads is marked for translation, and every language the hub
offers translates all of it: a new English string without its Chinese fails here."""

import ast
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hub import ROOT, i18n
from hub.web import build_environment

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
OTHER_LANGUAGES = [code for code in i18n.languages() if code != i18n.SOURCE_LANGUAGE]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
}


def extracted() -> dict[tuple[str, str | None], list[str]]:
    """Every marked message of the code and templates as `make messages` finds it:
    (msgid, context) -> where it is."""
    with (i18n.TRANSLATIONS / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def catalog(code: str) -> Catalog:
    with (i18n.TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file)


def translated(message: Message) -> list[str]:
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return [form for form in forms if form]


def test_chinese_is_offered() -> None:
    assert "zh_Hans" in OTHER_LANGUAGES


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_marked_string_is_translated(code: str) -> None:
    """A string marked in the code but missing from the catalogue (or there untranslated,
    or only a fuzzy guess): run `make messages`, then translate it in the .po file."""
    have = catalog(code)
    missing = []
    for (msgid, context), places in sorted(extracted().items(), key=lambda item: item[1]):
        message = have.get(msgid, context)
        if message is None or not translated(message) or message.fuzzy:
            missing.append(f"{places[0]}: {msgid!r}")
    assert missing == [], f"{len(missing)} strings have no {code} translation"


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_translations_keep_their_placeholders(code: str) -> None:
    """A translation that drops or renames %(name)s would crash or lose the value."""
    wrong = []
    for message in catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for form in translated(message):
            if set(PLACEHOLDER.findall(form)) != wanted:
                wrong.append(f"{ids[0]!r} -> {form!r}")
    assert wrong == []


# --- text a template writes without marking it ----------------------------------------------

# Attributes a person reads or hears; their text is translated like the page's.
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "hx-confirm"}
# Content that is not language: code, and what the page marks translate="no".
NOT_LANGUAGE = {"script", "style", "code", "pre", "kbd", "samp"}
VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr", "area", "base"}
# A word to translate has a lower-case letter: acronyms (PDF, CSV, HTTP, TLP) stay as
# they are in every language, and addresses are not words.
WORDS = re.compile(r"\b[A-Za-z]*[a-z][A-Za-z]*[a-z][A-Za-z]*\b|\b[A-Za-z][a-z]\b")
ADDRESSES = re.compile(r"\S+://\S+|\S+@\S+")
# Stands for whatever Jinja writes: a value, or a message already translated.
FILLED = "\x1f"


def unmarked_text(template: str, source: str) -> Iterator[str]:
    """The template with every Jinja expression and {% trans %} block replaced by a
    neutral mark; what words are left in its text or its read attributes are unmarked."""
    env = build_environment()
    parts: list[str] = []
    in_trans = False
    tokens = [token for token in env.lex(source, template) if token[1] != "whitespace"]
    for index, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and tokens[index - 1][1] == "block_begin":
            if value == "trans":
                in_trans = True
                parts.append(FILLED)
            elif value == "endtrans":
                in_trans = False
        if in_trans:
            continue
        if kind == "data":
            parts.append(value)
        elif kind == "variable_begin":
            parts.append(FILLED)
    reader = _TextReader()
    reader.feed("".join(parts))
    reader.close()
    yield from reader.found


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []  # open elements whose content is not language
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self.skipping or tag in NOT_LANGUAGE or values.get("translate") == "no":
            if tag not in VOID:
                self.skipping.append(tag)
            return
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _words(value):
                self.found.append(f'<{tag} {name}="{value}">')
        if tag == "input" and values.get("type") in ("submit", "button"):
            value = values.get("value") or ""
            if _words(value):
                self.found.append(f'<input value="{value}">')

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and _words(data):
            self.found.append(" ".join(data.replace(FILLED, " ").split()))


def _words(text: str) -> bool:
    return bool(WORDS.search(ADDRESSES.sub(" ", text.replace(FILLED, " "))))


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_text_is_left_unmarked(path: Path) -> None:
    """Words in a template's text (or in an attribute people read) outside `_()` and
    {% trans %}: wrap them, or mark code and names with translate="no"."""
    name = str(path.relative_to(ROOT / "templates"))
    assert list(unmarked_text(name, path.read_text())) == []


def test_the_template_check_finds_what_it_should() -> None:
    """The check itself: plain words, a read attribute and a submit value are found;
    marked text, values, code and translate="no" are not."""
    source = (
        '<h1>{{ _("Reports") }}</h1><p>Unmarked words</p>'
        '<input placeholder="Search here" value="{{ q }}"><input type="submit" value="Go on">'
        '<span translate="no">AH</span><code>curl -H</code><p>PDF · https://x.example</p>'
        "{% trans n=3 %}About {{ n }}{% endtrans %}"
    )
    assert list(unmarked_text("check.html", source)) == [
        "Unmarked words",
        '<input placeholder="Search here">',
        '<input value="Go on">',
    ]


# --- messages the code raises or shows without marking them ---------------------------------

# Where a message goes to a person: the callable, and which argument holds the message.
MESSAGE_ARGUMENT = {
    "Invalid": 0,
    "Conflict": 0,
    "NotFound": 0,
    "Forbidden": 0,
    "NotSignedIn": 0,
    "DomainError": 0,
    "flash": 1,
    "after_change": 1,
    "fail": 1,
}
# The hub's own command line speaks to operators, in English.
OPERATOR_MODULES = {"hub/cli.py", "hub/backup.py", "hub/demo.py"}


def _called(node: ast.Call) -> str:
    func = node.func
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _is_text(node: ast.expr) -> bool:
    """Written text: a string, an f-string, or text glued to something."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and _words(node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return False


def unmarked_messages(source: str, filename: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        position = MESSAGE_ARGUMENT.get(name)
        candidates: list[ast.expr] = []
        if position is not None and len(node.args) > position:
            candidates.append(node.args[position])
        candidates += [kw.value for kw in node.keywords if kw.arg in ("message", "detail")]
        if name == "InvalidForm" and node.args and isinstance(node.args[0], ast.Dict):
            candidates += node.args[0].values
        for candidate in candidates:
            if _is_text(candidate):
                yield f"{filename}:{candidate.lineno}: {ast.unparse(candidate)[:80]}"


def test_no_message_to_a_person_is_left_unmarked() -> None:
    """An error, a form error or a flash message written as a plain string reaches a
    Chinese reader in English: wrap it in `_()`."""
    found = []
    for path in sorted((ROOT / "hub").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name not in OPERATOR_MODULES:
            found += unmarked_messages(path.read_text(), name)
    assert found == []


def test_the_message_check_finds_what_it_should() -> None:
    source = (
        'raise Invalid("Plain words")\n'
        'raise Conflict(f"Taken by {name}")\n'
        'check.fail("title", "Give it a title")\n'
        'flash(request, _("Saved."))\n'
        'raise InvalidForm({"day": "Pick a day", "name": _("Name it")})\n'
        "raise NotFound()\n"
    )
    assert [line.split(": ", 1)[1] for line in unmarked_messages(source, "x.py")] == [
        "'Plain words'",
        "f'Taken by {name}'",
        "'Give it a title'",
        "'Pick a day'",
    ]

"""What the tests of each area use to check a page in Chinese: the catalogue's own
translation of a message (so the tests follow the translators), and a person who reads it."""

from sqlmodel import Session

from hub import i18n
from hub.members.models import Person

CHINESE = "zh_Hans"
ZH = i18n.translations(CHINESE)  # for pgettext and ngettext


def zh(message: str, **values: object) -> str:
    """`message` as the Chinese catalogue has it, values filled in; fails if untranslated."""
    text = ZH.gettext(message)
    assert text != message, f"{message!r} has no Chinese translation"
    return text % values if values else text


def reads_chinese(db: Session, person: Person, zone: str = "") -> Person:
    """`person` with Chinese (and `zone`, if given) chosen on their profile."""
    person.language = CHINESE
    if zone:
        person.time_zone = zone
    db.add(person)
    db.commit()
    return person

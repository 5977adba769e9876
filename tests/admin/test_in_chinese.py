"""The audit log for an alliance admin who reads Simplified Chinese."""

from html import unescape

from sqlmodel import Session

from hub import audit
from tests.chinese import ZH, reads_chinese, zh
from tests.conftest import ClientAs, World


def test_audit_log_in_chinese(client_as: ClientAs, world: World, db: Session) -> None:
    """Column headers, the search form and the count are Chinese; actions stay codes."""
    for number in range(3):
        audit.record(db, None, "cli", "brand.created", f"thing:{number}")
    db.commit()
    browser = client_as(reads_chinese(db, world.alliance_admin))
    page = unescape(browser.get("/admin/audit").text)
    assert zh("Search the audit log") in page
    for header in ("When", "Who", "IP address", "Target", "Details"):
        assert f'<th scope="col">{zh(header)}</th>' in page
    assert ZH.pgettext("date range", "From") in page
    assert "<code>brand.created</code>" in page
    total = ZH.ngettext("%(num)s entry.", "%(num)s entries.", 3) % {"num": "3"}
    assert total in page

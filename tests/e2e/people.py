"""Signed-in browsers for the e2e tests: signing in through the development provider, and
`People`, which signs each person in once per module and starts their later browsers with
that session's cookies (a sign-in takes seconds)."""

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Cookie, Page, expect

from tests.e2e.conftest import NOT_LOOPBACK
from tests.live import LiveHub


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Signed in as {email}")


class People:
    """Browsers of signed-in people, in the time zone asked for (the browser's zone is
    never carried over from an earlier browser of theirs)."""

    def __init__(self, browser: Browser, hub: LiveHub, timezone_id: str | None = None) -> None:
        self.browser, self.hub, self.timezone_id = browser, hub, timezone_id
        self.cookies: dict[str, list[Cookie]] = {}

    @contextmanager
    def page_of(self, email: str, timezone_id: str | None = None) -> Iterator[Page]:
        """A page in a fresh browser context of its own, signed in as `email`."""
        zone = timezone_id or self.timezone_id
        context = self.browser.new_context(
            base_url=self.hub.base_url,
            viewport={"width": 1280, "height": 800},
            **({"timezone_id": zone} if zone else {}),  # type: ignore[arg-type]
        )
        context.route(NOT_LOOPBACK, lambda route: route.abort())
        try:
            page = context.new_page()
            if email in self.cookies:
                context.add_cookies(self.cookies[email])  # type: ignore[arg-type]
                page.goto("/")
                expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            else:
                sign_in(page, email)
                self.cookies[email] = [c for c in context.cookies() if c["name"] != "hub_tz"]
            yield page
        finally:
            context.close()

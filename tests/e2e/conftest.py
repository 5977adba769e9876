"""Browser tests: a live hub on SQLite, driven by Debian's Chromium through Playwright.

Every test in this folder is marked `e2e`. The browser is /usr/bin/chromium (Playwright
cannot download its own here); `make test` installs it. Without it these tests fail, loudly.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveHub, live_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. Run `make test` "
            "(it installs chromium and fonts-liberation), or `apt-get install -y chromium "
            "fonts-liberation`.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One live hub for the whole browser run; browser tests always run on SQLite."""
    tmp_dir = tmp_path_factory.mktemp("e2e-hub")
    with live_hub(tmp_dir, f"sqlite:///{tmp_dir / 'hub.db'}") as live:
        yield live


@pytest.fixture(scope="session")
def base_url(hub: LiveHub) -> str:
    """page.goto("/login") goes to the live hub.

    This also replaces pytest-playwright's own fallback `base_url` fixture, which is a
    session fixture defined on a plugin class instance: pytest 9 deprecates that
    (PytestRemovedIn10Warning), and with filterwarnings=error it would break every test.
    """
    return hub.base_url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}

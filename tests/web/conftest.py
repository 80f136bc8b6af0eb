"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Every page a test opens fails the test on a JavaScript console error or uncaught exception.
Screenshots go to test-artifacts/ (git-ignored); axe-core comes from node_modules.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (done by .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserSession:
    """A browser context whose pages record console errors; the fixture asserts there are none."""

    def __init__(self, browser, base_url: str, viewport: dict):
        self.base_url = base_url
        self.context = browser.new_context(
            base_url=base_url, viewport=viewport, accept_downloads=True
        )
        self.context.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()

        def record_console_error(msg) -> None:
            if msg.type == "error":
                self.errors.append(f"console error on {page.url}: {msg.text}")

        page.on("console", record_console_error)
        page.on(
            "pageerror", lambda exc: self.errors.append(f"uncaught exception on {page.url}: {exc}")
        )
        page.on("dialog", lambda dialog: dialog.accept())  # confirm() before delete/revoke
        return page

    def close(self):
        self.context.close()


@pytest.fixture
def session(browser, live_server):
    web = BrowserSession(browser, live_server.url, {"width": 1280, "height": 860})
    yield web
    web.close()
    assert not web.errors, "\n".join(web.errors)


@pytest.fixture
def phone(browser, live_server):
    web = BrowserSession(browser, live_server.url, {"width": 390, "height": 844})
    yield web
    web.close()
    assert not web.errors, "\n".join(web.errors)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of the image
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page, name: str) -> None:
    """axe-core on the current page: no serious or critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    details = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in bad
    )
    assert not bad, f"accessibility violations on {name}:\n{details}"

"""The web app in a real browser (Debian's Chromium through Playwright) against a live server.

Each flow saves a screenshot of its final page under test-artifacts/, fails on any JavaScript
console error (see conftest.BrowserSession) and runs axe-core on the pages it visits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from playwright.sync_api import expect

from separation.audio import ffmpeg_exe
from separation.models import JobStatus, Upload
from tests.audio_fixtures import write_song, write_wav
from tests.factories import UserFactory
from tests.web.conftest import assert_accessible, screenshot
from tests.web.helpers import make_job

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_it_shows_the_public_pages_accessibly(session):
    page = session.page
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Split any song")
    assert_accessible(page, "landing")
    screenshot(page, "landing")
    for path, name in (
        ("/accounts/signup/", "signup"),
        ("/accounts/login/", "login"),
        ("/accounts/password/reset/", "password-reset"),
    ):
        page.goto(path)
        assert_accessible(page, name)
        screenshot(page, name)


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory):
    """The landing page's demo (4 s), built by the real command in a process of its own: this
    process must not load TensorFlow, after which Playwright's driver hangs."""
    from django.conf import settings

    root = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "manage.py", "build_demo", "--seconds", "4"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DEMO_ROOT": str(root), "MODEL_PATH": str(settings.MODEL_PATH)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return root


def demo_clock(page) -> dict:
    """Where the demo player is: its AudioContext's clock and when position 0 was on it."""
    return page.locator("[data-demo]").evaluate(
        "el => ({now: el.demoPlayer.ctx.currentTime, startedAt: el.demoPlayer.transport.startedAt,"
        " gains: el.demoPlayer.tracks.map(t => t.gain.gain.value)})"
    )


def test_it_plays_the_before_after_demo_on_the_landing_page(session, settings, built_demo):
    settings.DEMO_ROOT = built_demo
    page = session.page
    page.goto("/")
    player = page.locator("[data-demo]")
    expect(player).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Play the demo").click()
    expect(player).to_have_attribute("data-state", "playing")
    expect(page.get_by_role("button", name="Pause the demo")).to_be_visible()
    expect(page.locator("[data-demo-time]")).not_to_have_text("0:00 / 0:04", timeout=5_000)
    before = demo_clock(page)
    page.wait_for_timeout(400)
    playing = demo_clock(page)
    assert playing["now"] > before["now"] + 0.2  # the audio clock runs: it plays

    # Switching what you hear moves gains only: the sources keep running from the same start.
    vocals = page.get_by_role("button", name="Vocals")
    vocals.click()
    expect(vocals).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Original")).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(300)
    switched = demo_clock(page)
    assert switched["startedAt"] == playing["startedAt"]
    assert [round(gain, 2) for gain in switched["gains"]] == [0, 1, 0]
    expect(player).to_have_attribute("data-state", "playing")

    # The keyboard reaches every control.
    accompaniment = page.get_by_role("button", name="Accompaniment")
    accompaniment.focus()
    page.keyboard.press("Space")
    expect(accompaniment).to_have_attribute("aria-pressed", "true")
    expect(vocals).to_have_attribute("aria-pressed", "false")
    assert_accessible(page, "landing with the demo")
    page.get_by_role("button", name="Pause the demo").click()
    expect(player).to_have_attribute("data-state", "paused")
    expect(page.get_by_role("button", name="Play the demo")).to_be_visible()
    screenshot(page, "landing-demo")


def test_it_fits_the_demo_on_a_phone(phone, settings, built_demo):
    settings.DEMO_ROOT = built_demo
    page = phone.page
    page.goto("/")
    expect(page.locator("[data-demo]")).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-demo-wave] div")).not_to_have_count(0)  # wavesurfer drew it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in ("Original", "Vocals", "Accompaniment"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    assert_accessible(page, "landing demo on a phone")
    screenshot(page, "phone-landing-demo")


def test_it_shows_the_signed_in_pages_accessibly(session):
    user = UserFactory.create(email="producer@example.com")
    workspace = user.default_workspace()
    job = make_job(
        workspace, JobStatus.COMPLETED, seconds=3, stems=("vocals", "drums", "bass", "other")
    )
    make_job(workspace, JobStatus.PROCESSING, progress=45)
    make_job(workspace, JobStatus.QUEUED)
    page = session.page
    log_in(page, user.email)
    assert_accessible(page, "dashboard")
    screenshot(page, "dashboard")

    page.goto("/upload/")
    expect(page.get_by_label("Drop an audio file here, or click to choose")).to_be_attached()
    assert_accessible(page, "upload")
    screenshot(page, "upload")

    page.goto("/jobs/")
    assert_accessible(page, "jobs")
    screenshot(page, "jobs")

    page.goto(f"/jobs/{job.id}/")
    expect(page.locator("[data-mixer]")).to_have_attribute("data-ready-audio", "true")
    expect(page.locator(".stem")).to_have_count(4)
    assert_accessible(page, "job")
    screenshot(page, "job-completed")

    page.goto("/workspace/")
    expect(page.locator("#usage-chart")).to_be_visible()
    assert_accessible(page, "workspace")
    screenshot(page, "workspace")

    page.goto("/keys/")
    assert_accessible(page, "keys")


def test_it_fits_a_phone(phone):
    user = UserFactory.create(email="phone@example.com")
    job = make_job(user.default_workspace(), JobStatus.COMPLETED, seconds=3)
    page = phone.page
    page.goto("/")
    screenshot(page, "phone-landing")
    log_in(page, user.email)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Upload")).to_be_visible()
    page.goto(f"/jobs/{job.id}/")
    expect(page.locator("[data-mixer]")).to_have_attribute("data-ready-audio", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, "job on a phone")
    screenshot(page, "phone-job")


def test_the_whole_flow_from_sign_up_to_stems(session, celery_worker_process, tmp_path):
    """The job runs on a real Celery worker process, through the configured broker."""
    page = session.page
    email = "musician@example.com"

    # Sign up, log out, log back in.
    page.goto("/")
    page.get_by_role("link", name="Sign up free").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    log_in(page, email)

    # A second tab on the jobs list: it must pick the new job up and follow it by itself.
    jobs_tab = session.new_page()
    jobs_tab.goto("/jobs/")
    expect(jobs_tab.get_by_text("No jobs yet")).to_be_visible()

    # Upload a short generated song and watch it reach 100 %.
    song = write_song(tmp_path / "demo-song.wav", seconds=3.5)
    page.get_by_role("link", name="Upload").first.click()
    page.locator("#id_file").set_input_files(song)
    expect(page.locator("[data-file-name]")).to_contain_text("demo-song.wav")
    page.get_by_role("button", name="Split into stems").click()
    page.wait_for_url(re.compile(r"/jobs/job_\w+/$"))
    live = page.locator("#job-live")
    expect(live).to_have_attribute("data-status", "completed", timeout=240_000)
    expect(live).to_have_attribute("data-progress", "100")
    stems = page.locator(".stem")
    expect(stems).to_have_count(2)
    expect(page.locator("[data-mixer]")).to_have_attribute("data-ready-audio", "true")
    expect(page.get_by_text("Event log")).to_be_visible()

    listed = jobs_tab.locator("[data-job]")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("demo-song.wav")
    expect(listed).to_contain_text("Completed", timeout=15_000)
    screenshot(jobs_tab, "flow-jobs-list")
    jobs_tab.close()

    # Download a stem: it is audio.
    with page.expect_download() as info:
        page.locator("[data-download-link]").filter(has_text="vocals").click()
    path = info.value.path()
    with open(path, "rb") as handle:
        head = handle.read(12)
    assert head[:4] == b"RIFF" and head[8:12] == b"WAVE"

    # Play, mute the vocals and export the mix.
    page.get_by_role("button", name="Play all stems").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.locator("[data-icon-pause]").first).to_be_visible()
    expect(page.locator("[data-icon-play]").first).to_be_hidden()
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Mute vocals").click()
    expect(page.get_by_role("button", name="Mute vocals")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Export this mix").click()
    mix_link = page.locator("[data-mix-download]")
    expect(mix_link).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        mix_link.click()
    with open(info.value.path(), "rb") as handle:
        assert handle.read(4) == b"RIFF"
    screenshot(page, "flow-job-results")

    # Create an API key (shown once), then revoke it.
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Key name").fill("Laptop")
    page.get_by_role("button", name="Create key").click()
    raw = page.locator("[data-raw-key]")
    expect(raw).to_contain_text("ss_")
    screenshot(page, "flow-key-created")
    page.get_by_role("button", name="Revoke key Laptop").click()
    expect(page.locator("[data-key]").filter(has_text="Laptop")).to_contain_text("Revoked")
    expect(page.locator("[data-raw-key]")).to_have_count(0)
    screenshot(page, "flow-key-revoked")

    # An upload over the plan's size limit is refused with its message, next to the field.
    big = os.path.join(tmp_path, "too-big.wav")
    write_wav(big, np.zeros((44100 * 125, 2), dtype=np.float32))  # ~22 MB: over Free's 20 MB
    page.get_by_role("link", name="Upload").first.click()
    page.locator("#id_file").set_input_files(big)
    page.get_by_role("button", name="Split into stems").click()
    error = page.locator('[data-error-for="file"]')
    expect(error).to_contain_text("the largest file your Free plan accepts is 20 MB")
    screenshot(page, "flow-over-limit")

    # A song longer than the minutes left (596 s after the 3.5 s one) is refused before it is
    # sent: the browser reads its length.
    long_song = str(tmp_path / "long-song.mp3")
    silence = ["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "598", "-b:a", "32k"]
    subprocess.run([ffmpeg_exe(), "-v", "error", *silence, long_song], check=True)
    uploads = Upload.objects.count()
    page.locator("#id_file").set_input_files(long_song)
    expect(error).to_contain_text("needs 10.0 minutes but only 9.9 of your Free plan's minutes")
    page.get_by_role("button", name="Split into stems").click()
    expect(error).to_contain_text("minutes are left this period")
    assert Upload.objects.count() == uploads
    screenshot(page, "flow-out-of-minutes")

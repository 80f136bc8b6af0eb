"""HTML pages for uploads and jobs (HTMX partials for the parts that update themselves).

Every query starts from `request.workspace`: another workspace's job id is a 404, never a 403.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from billing import services as billing
from separation import audio, catalog, demo, services
from separation.forms import FORMAT_HELP, QUALITY_HELP, STEM_HELP, STEM_MODEL, UploadForm
from separation.models import Job, JobStatus
from separation.options import JobOptions
from separation.services import SeparationError

log = logging.getLogger(__name__)


def workspace_of(request):
    workspace = request.workspace
    if workspace is None:  # a signed-in user who belongs to no workspace
        raise Http404("No workspace.")
    return workspace


def workspace_job(request, job_id: str) -> Job:
    return get_object_or_404(workspace_of(request).jobs.select_related("upload"), id=job_id)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- Plan limits ------------------------------------------------------------------------------


def current_plan(workspace):
    return billing.plan_for(workspace)


def unlocking_plan_name(current, allows) -> str | None:
    plan = billing.lifting_plan(current, allows)
    return plan.name if plan else None


def upload_limits(workspace) -> dict:
    """What the upload page tells the browser to check before sending, and shows."""
    usage = billing.usage_for(workspace)
    plan = usage.plan
    max_bytes = min(settings.UPLOAD_MAX_BYTES, plan.max_upload_bytes)
    return {
        "plan": plan,
        "usage": usage,
        "max_bytes": max_bytes,
        "max_mb": max(1, round(max_bytes / 1024 / 1024)),
        "max_seconds": plan.max_file_seconds,
        "left_minutes": usage.left_seconds / 60,
    }


def option_cards(workspace, form) -> dict:
    """The choices of the upload form, each with whether it is available and why not."""
    plan = current_plan(workspace)
    installed = {spec.checkpoint for spec in catalog.installed_models()}

    def model_lock(model):
        if model.split(":")[1] not in installed:
            return "Not installed on this server"
        if not plan.allows_model(model):
            name = unlocking_plan_name(plan, lambda p: p.allows_model(model))
            return f"Unlocked on {name}" if name else "Not on your plan"
        return ""

    def format_lock(fmt):
        if not plan.allows_format(fmt):
            name = unlocking_plan_name(plan, lambda p: p.allows_format(fmt))
            return f"Unlocked on {name}" if name else "Not on your plan"
        return ""

    stems = [
        {"value": v, "label": label, "help": STEM_HELP[v], "lock": model_lock(STEM_MODEL[v])}
        for v, label in form.fields["stems"].choices
    ]
    formats = [
        {"value": v, "label": label, "help": FORMAT_HELP.get(v, ""), "lock": format_lock(v)}
        for v, label in form.fields["format"].choices
    ]
    qualities = [
        {"value": v, "label": label, "help": QUALITY_HELP[v], "lock": ""}
        for v, label in form.fields["quality"].choices
    ]
    return {"stem_options": stems, "format_options": formats, "quality_options": qualities}


# --- Home ---------------------------------------------------------------------------------------


def home(request):
    if not request.user.is_authenticated or request.workspace is None:
        return render(request, "landing.html", landing_demo())
    workspace = request.workspace
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    jobs = workspace.jobs.select_related("upload")
    month = jobs.filter(created_at__gte=month_start)
    stats = month.aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=JobStatus.COMPLETED)),
    )
    usage = billing.usage_for(workspace)
    plan = usage.plan
    recent = list(jobs[:6])
    active = jobs.filter(status__in=[JobStatus.QUEUED, JobStatus.PROCESSING]).count()
    keys_count = workspace.api_keys.filter(is_active=True).count()
    used_seconds = usage.used_seconds + usage.reserved_seconds
    version = live_version(recent, stats["total"], used_seconds, active, keys_count)
    if live_unchanged(request, version):
        return HttpResponse(status=204)
    context = {
        "recent_jobs": recent,
        "stats": stats,
        "used_minutes": used_seconds / 60,
        "plan": plan,
        "included_minutes": plan.included_minutes,
        "usage_pct": usage.used_percent,
        "active_jobs": active,
        "keys_count": keys_count,
        "live": live_poll(version, active),
    }
    if request.htmx:
        return render(request, "separation/partials/dashboard_live.html", context)
    return render(request, "separation/dashboard.html", context)


# Lists that refresh themselves poll quickly while a job runs and slowly otherwise (a job may be
# started from another tab or the API); an unchanged list answers 204, which htmx does not swap,
# so keyboard focus and scroll position survive the polling.
POLL_ACTIVE = "2s"
POLL_IDLE = "10s"


def live_version(jobs, *extra) -> str:
    """A digest of what a self-refreshing list shows (with the minute, for "2 minutes ago")."""
    parts = [f"{job.id}:{job.status}:{job.progress}" for job in jobs]
    parts += [str(value) for value in extra] + [timezone.now().strftime("%H%M")]
    return hashlib.blake2s("|".join(parts).encode(), digest_size=8).hexdigest()


def live_poll(version: str, active) -> dict:
    """What a self-refreshing template needs: its digest and how often to poll."""
    return {"version": version, "every": POLL_ACTIVE if active else POLL_IDLE}


def live_unchanged(request, version: str) -> bool:
    return bool(request.htmx) and request.GET.get("v") == version


def demo_bars() -> list[dict]:
    """Decorative waveforms for the landing page when the demo is not built."""
    import math

    rows = []
    for label, color, freq, phase in (
        ("Original mix", "#e8ebf2", 0.9, 0.0),
        ("Vocals", "#f472b6", 0.5, 1.2),
        ("Drums", "#fbbf24", 2.1, 0.4),
        ("Bass", "#34d399", 0.3, 2.0),
    ):
        bars = [
            round(6 + 26 * abs(math.sin(i * freq + phase) * math.cos(i * 0.17 + phase)))
            for i in range(48)
        ]
        rows.append({"label": label, "color": color, "bars": bars})
    return rows


DEMO_COLORS = {"mixture": "#c4b5fd", "vocals": "#f472b6", "accompaniment": "#60a5fa"}


def landing_demo() -> dict:
    """The before/after player when `manage.py build_demo` has run, else decorative bars."""
    built = demo.manifest(settings.DEMO_ROOT)
    if built is None:
        return {"demo": None, "demo_bars": demo_bars()}
    # The files are cached for a year: a rebuilt demo gets new URLs.
    version = f"?v={built['stamp']}"
    tracks = [
        {
            "name": name,
            "label": label,
            "color": DEMO_COLORS[name],
            "url": reverse("demo-file", args=[f"{name}.mp3"]) + version,
        }
        for name, label in demo.TRACKS
    ]
    return {
        "demo": {
            "tracks": tracks,
            "peaks_url": reverse("demo-file", args=[demo.MANIFEST]) + version,
            "duration": built["duration"],
        }
    }


@require_safe
def demo_file(request, name: str):
    """One of the demo's files from DEMO_ROOT, for everyone; any other name is a 404."""
    content_type = demo.FILES.get(name)
    path = Path(settings.DEMO_ROOT) / name
    if content_type is None or not path.is_file():
        raise Http404("No such demo file.")
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# --- Upload -------------------------------------------------------------------------------------


@login_required
@csrf_exempt
def upload(request):
    # Stream the request body to a temporary file (never into memory), then check the CSRF token:
    # the handlers must be set before anything reads request.POST.
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _upload(request)


@csrf_protect
def _upload(request):
    workspace = workspace_of(request)
    limits = upload_limits(workspace)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            job = _create_job(request, workspace, form, limits)
            if job is not None:
                url = reverse("job-detail", args=[job.id])
                if wants_json(request):
                    return JsonResponse({"job": job.id, "redirect": url}, status=201)
                return redirect(url)
        if wants_json(request):
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            return JsonResponse({"errors": errors}, status=400)
    else:
        form = UploadForm()
    context = {"form": form, "limits": limits, **option_cards(workspace, form)}
    return render(request, "separation/upload.html", context, status=400 if form.errors else 200)


def _create_job(request, workspace, form, limits) -> Job | None:
    uploaded = form.cleaned_data["file"]
    try:
        # The plan's size limit first: no need to probe a file that will be refused anyway.
        billing.check_upload_allowed(workspace, uploaded.size)
        upload = services.create_upload(
            workspace, uploaded.temporary_file_path(), uploaded.name, user=request.user
        )
        try:
            return services.create_job(workspace, upload, form.job_request(), user=request.user)
        except SeparationError:
            services.delete_upload(upload)
            raise
    except SeparationError as exc:  # also billing's refusals: too big, out of minutes, …
        form.add_service_error(exc)
        return None


# --- Jobs ---------------------------------------------------------------------------------------


@login_required
def job_list(request):
    workspace = workspace_of(request)
    jobs = list(workspace.jobs.select_related("upload")[:100])
    version = live_version(jobs)
    if live_unchanged(request, version):
        return HttpResponse(status=204)
    active = any(not job.is_final for job in jobs)
    context = {
        "jobs": jobs,
        "live": live_poll(version, active),
    }
    if request.htmx:
        return render(request, "separation/partials/job_list_live.html", context)
    return render(request, "separation/job_list.html", context)


def job_context(job: Job) -> dict:
    options = JobOptions.from_json(job.options)
    eta = None
    if job.status == JobStatus.PROCESSING and job.started_at and job.progress >= 3:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        eta = timedelta(seconds=round(elapsed * (100 - job.progress) / job.progress))
    stems = []
    if job.status == JobStatus.COMPLETED:
        present = set(job.outputs.values_list("stem", flat=True))
        names = [s for s in options.output_stems() if s in present] + sorted(
            present - set(options.output_stems())
        )
        peaks = (job.analysis or {}).get("peaks") or {}
        play_format = job.format if job.format in ("wav", "mp3", "flac") else "wav"
        for name in names:
            stems.append(
                {
                    "name": name,
                    "base_url": reverse("api-separation-stem", args=[job.id, name]),
                    "url": stem_url(job, name, play_format),
                    "peaks": peaks.get(name),
                    "downloads": [
                        {"format": fmt, "url": stem_url(job, name, fmt)} for fmt in audio.FORMATS
                    ],
                }
            )
    total = job.upload.duration
    output_duration = max(0.0, total - options.section_start)
    if options.section_duration:
        output_duration = min(output_duration, options.section_duration)
    section = None
    if options.section_start or options.section_duration:
        section = {"start": options.section_start, "duration": options.section_duration}
    return {
        "job": job,
        "options": options,
        "stem_count": len(options.output_stems()),
        "eta": eta,
        "events": list(job.events.all()),
        "stems": stems,
        "formats": audio.FORMATS,
        "archive_base_url": reverse("api-separation-archive", args=[job.id]),
        "analysis": job.analysis or {},
        "peaks": {stem["name"]: stem["peaks"] for stem in stems if stem["peaks"]},
        "section": section,
        "output_duration": output_duration,
    }


def stem_url(job: Job, stem: str, fmt: str) -> str:
    """The API's download of one stem (session or key authenticated)."""
    return reverse("api-separation-stem", args=[job.id, stem]) + format_query(job, fmt)


def archive_url(job: Job, fmt: str) -> str:
    return reverse("api-separation-archive", args=[job.id]) + format_query(job, fmt)


def format_query(job: Job, fmt: str) -> str:
    """The API serves the job's own format by default; name only another one."""
    return "" if fmt == job.format else f"?format={fmt}"


@login_required
def job_detail(request, job_id: str):
    job = workspace_job(request, job_id)
    return render(request, "separation/job_detail.html", job_context(job))


@login_required
def job_live(request, job_id: str):
    """The part of the job page that polls itself; returned without its trigger once final."""
    job = workspace_job(request, job_id)
    return render(request, "separation/partials/job_live.html", job_context(job))


@login_required
@require_POST
def job_cancel(request, job_id: str):
    job = workspace_job(request, job_id)
    try:
        services.cancel_job(job)
    except SeparationError as exc:
        if not request.htmx:
            from django.contrib import messages

            messages.error(request, exc.message)
    if request.htmx:
        return render(request, "separation/partials/job_live.html", job_context(job))
    return redirect("job-detail", job_id=job.id)


@login_required
@require_POST
def job_delete(request, job_id: str):
    job = workspace_job(request, job_id)
    name = job.upload.filename
    services.delete_job(job)
    from django.contrib import messages

    messages.success(request, f"Deleted the stems of {name}.")
    return redirect("job-list")


@login_required
@require_POST
def job_mix(request, job_id: str):
    """Export the mixer's settings as one file, mixed on the server by services.create_mix."""
    job = workspace_job(request, job_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse(
            {"error": {"code": "invalid_json", "message": "Send a JSON object."}}, status=400
        )
    tracks = []
    for track in body.get("tracks") or []:
        if not isinstance(track, dict):
            continue
        # The browser mutes (and solos) by silencing tracks; the service takes volume and pan.
        volume = 0.0 if track.get("mute") else track.get("volume", 1.0)
        if isinstance(volume, (int, float)) and not isinstance(volume, bool):
            volume = max(0.0, min(1.0, float(volume)))
        tracks.append({"stem": track.get("stem"), "volume": volume, "pan": track.get("pan", 0.0)})
    try:
        mix = services.create_mix(
            job, tracks, body.get("format") or "wav", body.get("name") or "mix"
        )
    except SeparationError as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
        )
    return JsonResponse(
        {
            "id": mix.id,
            "name": mix.name,
            "format": mix.format,
            "size": mix.size,
            "url": reverse("job-mix-download", args=[job.id, mix.id]),
        },
        status=201,
    )


@login_required
def mix_download(request, job_id: str, mix_id: str):
    job = workspace_job(request, job_id)
    mix = get_object_or_404(job.mixes, id=mix_id)
    filename = f"{job.upload.filename.rsplit('.', 1)[0]} - {mix.name}.{mix.format}"
    return FileResponse(
        mix.file.open("rb"),
        as_attachment=True,
        filename=filename,
        content_type=audio.CONTENT_TYPES.get(mix.format, "application/octet-stream"),
    )

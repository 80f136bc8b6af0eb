"""Downloads of stems and ZIP archives: with the key or session, or with a signed link."""

from __future__ import annotations

import functools
import os
import tempfile
import zipfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions

from accounts.api.permissions import request_workspace
from separation import audio, services
from separation.api import signing
from separation.api.serializers import output_stems
from separation.api.views import ERROR, JOB_ID, SeparationApiView
from separation.models import Job, JobStatus
from stemsaas.api_errors import ApiError

COPY_BYTES = 1024 * 1024

FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=list(audio.FORMATS),
    description="Default: the job's format. Another one is converted once and kept.",
)
TOKEN = OpenApiParameter(
    signing.TOKEN_PARAM,
    OpenApiTypes.STR,
    description="Signature of a link from the job's JSON; replaces the key.",
)
FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The audio file (or ZIP).")


def _job_for_download(request, job_id: str, what: str, fmt: str, stems: str = "") -> Job:
    token = request.query_params.get(signing.TOKEN_PARAM)
    if token:
        workspace_id = signing.workspace_id_from_token(token, job_id, what, fmt, stems)
        jobs = Job.objects.filter(workspace_id=workspace_id)
    else:
        workspace = request_workspace(request)
        if workspace is None or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated(
                "Send 'Authorization: Bearer <api key>' or use a signed link from the job."
            )
        jobs = workspace.jobs.all()
    job = jobs.select_related("upload").filter(id=job_id).first()
    if job is None:
        raise ApiError(f"Separation {job_id} not found.", code="not_found", status_code=404)
    if job.status != JobStatus.COMPLETED:
        raise ApiError(
            f"Separation {job.id} is {job.status}; stems can be downloaded once it completed.",
            code="job_not_completed",
            status_code=409,
        )
    from billing import services as billing

    billing.check_download_allowed(job.workspace, job, fmt or None)
    return job


def download_name(job: Job, label: str, fmt: str) -> str:
    base = os.path.splitext(job.upload.filename)[0] or job.id
    return f"{base} - {label}.{fmt}"


class StemDownloadView(SeparationApiView):
    permission_classes: list = []  # key, session or signed link: checked in the view

    @extend_schema(
        operation_id="separations_stem",
        summary="Download one stem",
        parameters=[
            JOB_ID,
            OpenApiParameter("stem", OpenApiTypes.STR, OpenApiParameter.PATH),
            FORMAT,
            TOKEN,
        ],
        responses={(200, "application/octet-stream"): FILE, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def get(self, request, job_id: str, stem: str):
        fmt = request.query_params.get("format") or ""
        if fmt and fmt not in audio.FORMATS:
            raise ApiError(
                f"Unknown format {fmt!r}; use one of {', '.join(audio.FORMATS)}.",
                code="invalid_format",
            )
        if request.query_params.get(signing.TOKEN_PARAM) and not fmt:
            raise ApiError(
                "A signed link names its format.", code="invalid_signature", status_code=403
            )
        job = _job_for_download(request, job_id, f"stem:{stem}", fmt)
        fmt = fmt or job.format
        if stem not in output_stems(job):
            raise ApiError(
                f"Separation {job.id} has no stem {stem!r}; its stems are "
                f"{', '.join(output_stems(job))}.",
                code="not_found",
                status_code=404,
            )
        output = services.output_in_format(job, stem, fmt)
        return FileResponse(
            output.file.open("rb"),
            as_attachment=True,
            filename=download_name(job, stem, fmt),
            content_type=audio.CONTENT_TYPES[fmt],
        )


class ArchiveDownloadView(SeparationApiView):
    permission_classes: list = []

    @extend_schema(
        operation_id="separations_archive",
        summary="Download stems as a ZIP",
        parameters=[
            JOB_ID,
            FORMAT,
            TOKEN,
            OpenApiParameter(
                "stems", OpenApiTypes.STR, description="Comma-separated stem names; default: all."
            ),
        ],
        responses={(200, "application/zip"): FILE, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def get(self, request, job_id: str):
        fmt = request.query_params.get("format") or ""
        if fmt and fmt not in audio.FORMATS:
            raise ApiError(
                f"Unknown format {fmt!r}; use one of {', '.join(audio.FORMATS)}.",
                code="invalid_format",
            )
        stems_param = request.query_params.get("stems", "")
        wanted = [part.strip() for part in stems_param.split(",") if part.strip()]
        if request.query_params.get(signing.TOKEN_PARAM) and not fmt:
            raise ApiError(
                "A signed link names its format.", code="invalid_signature", status_code=403
            )
        job = _job_for_download(request, job_id, "archive", fmt, ",".join(wanted))
        fmt = fmt or job.format
        available = output_stems(job)
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise ApiError(
                f"Unknown stem(s) {', '.join(unknown)}; this separation has "
                f"{', '.join(available)}.",
                code="invalid_stem",
            )
        if len(set(wanted)) != len(wanted):
            raise ApiError("stems lists a stem twice.", code="invalid_stem")
        outputs = [services.output_in_format(job, stem, fmt) for stem in wanted or available]
        # Built on disk, not in memory: stems of a long song are hundreds of megabytes.
        archive = tempfile.TemporaryFile(prefix="stemsaas-zip-")
        try:
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED, allowZip64=True) as zipped:
                for output in outputs:
                    name = download_name(job, output.stem, fmt)
                    with (
                        output.file.open("rb") as source,
                        zipped.open(name, "w", force_zip64=True) as dst,
                    ):
                        for block in iter(functools.partial(source.read, COPY_BYTES), b""):
                            dst.write(block)
            archive.seek(0)
        except BaseException:
            archive.close()
            raise
        label = "stems" if not wanted else " + ".join(wanted)
        return FileResponse(
            archive,
            as_attachment=True,
            filename=download_name(job, label, "zip"),
            content_type=audio.CONTENT_TYPES["zip"],
        )

"""The separation API (v1): uploads, separations, downloads and models.

Every lookup starts from the request's workspace, so another workspace's ids answer 404. Input is
validated by separation.services / separation.options; their SeparationError reaches the client
as {"error": {"code", "message"}} with its status.
"""

from __future__ import annotations

import json
import logging

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import request_workspace
from accounts.models import ApiKey
from separation import audio, catalog, services
from separation.api import receive
from separation.api.serializers import (
    JobSerializer,
    ModelSerializer,
    SeparationRequestSerializer,
    SeparationUploadRequestSerializer,
    UploadRequestSerializer,
    UploadSerializer,
)
from separation.models import Job, JobStatus
from separation.options import REQUEST_FIELDS
from stemsaas.api_errors import ApiError

log = logging.getLogger(__name__)

ERROR = OpenApiResponse(description='{"error": {"code": "...", "message": "..."}}')
JOB_ID = OpenApiParameter(
    "job_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="A job id (job_…)."
)


def as_api_error(exc: Exception) -> Exception:
    """SeparationError (and errors shaped like it, such as billing's) -> ApiError."""
    if isinstance(exc, services.SeparationError):
        return ApiError.from_service_error(exc)
    status_code = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    if (
        not isinstance(exc, ApiError)
        and isinstance(status_code, int)
        and isinstance(code, str)
        and 400 <= status_code < 500
    ):
        return ApiError.from_service_error(exc)
    if isinstance(exc, audio.AudioError):
        log.exception("audio processing failed")
        return ApiError(str(exc), code="audio_processing_failed", status_code=500)
    return exc


class SeparationApiView(APIView):
    def handle_exception(self, exc):
        return super().handle_exception(as_api_error(exc))


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def get_job(request, job_id: str) -> Job:
    job = (
        request_workspace(request)
        .jobs.select_related("upload")
        .prefetch_related("outputs", "events")
        .filter(id=job_id)
        .first()
    )
    if job is None:
        raise ApiError(f"Separation {job_id} not found.", code="not_found", status_code=404)
    return job


def job_response(request, job: Job, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(JobSerializer(job, context={"request": request}).data, status=status_code)


# --- Uploads ----------------------------------------------------------------------------------


class UploadView(SeparationApiView):
    @extend_schema(
        operation_id="uploads_create",
        summary="Upload an audio file",
        description="Multipart field `file`, or the raw file as the body with "
        "`Content-Disposition: attachment; filename=...`.",
        request={
            "multipart/form-data": UploadRequestSerializer,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={201: UploadSerializer, 400: ERROR, 413: ERROR},
    )
    def post(self, request):
        upload = receive.receive_upload(request, request_workspace(request))
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


# --- Separations ------------------------------------------------------------------------------


def _multipart_job_request(request) -> dict:
    """Form fields are strings: decode the ones that carry JSON (section, custom_metadata)."""
    fields = {}
    for name in request.data.keys():
        if name == "file":
            continue
        value = request.data.get(name)
        if name in ("section", "custom_metadata") and isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except ValueError:
                raise ApiError(f"{name} must be a JSON object.", code="invalid_request") from None
        fields[name] = value
    return fields


class SeparationListView(SeparationApiView, GenericAPIView):
    serializer_class = JobSerializer

    def get_queryset(self):
        jobs = (
            request_workspace(self.request)
            .jobs.select_related("upload")
            .prefetch_related("outputs", "events")
            .order_by("-created_at", "-id")
        )
        wanted_status = self.request.query_params.get("status")
        if wanted_status:
            if wanted_status not in JobStatus.values:
                raise ApiError(
                    f"status must be one of {', '.join(JobStatus.values)}.", code="invalid_request"
                )
            jobs = jobs.filter(status=wanted_status)
        ids = self.request.query_params.get("ids")
        if ids:
            jobs = jobs.filter(id__in=[part.strip() for part in ids.split(",") if part.strip()])
        return jobs

    @extend_schema(
        operation_id="separations_list",
        summary="List separations, newest first",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=JobStatus.values,
                description="Only jobs in this status.",
            ),
            OpenApiParameter(
                "ids",
                OpenApiTypes.STR,
                description="Comma-separated job ids: check several jobs at once.",
            ),
        ],
        responses=JobSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        serializer = JobSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        operation_id="separations_create",
        summary="Start a separation",
        description="JSON with the id of an upload, or multipart with `file` (and `stems`, "
        "`format`, …) to upload and separate in one call. The job is queued; poll "
        "GET /api/v1/separations/{id} until `status` is final.",
        request={
            "application/json": SeparationRequestSerializer,
            "multipart/form-data": SeparationUploadRequestSerializer,
        },
        responses={202: JobSerializer, 400: ERROR, 404: ERROR, 413: ERROR},
    )
    def post(self, request):
        workspace = request_workspace(request)
        if receive.is_multipart(request):
            return self._upload_and_separate(request, workspace)
        data = request.data
        if hasattr(data, "dict"):  # a form-encoded body: one value per field
            data = data.dict()
        if not isinstance(data, dict):
            raise ApiError(
                'Send a JSON object: {"upload": "upl_…", "model": …}.', code="invalid_request"
            )
        upload_id = data.get("upload")
        if not upload_id or not isinstance(upload_id, str):
            raise ApiError(
                "upload: the id of an upload (upl_…) is required; POST the file to "
                "/api/v1/uploads first.",
                code="invalid_request",
                extra={"fields": {"upload": ["This field is required."]}},
            )
        upload = workspace.uploads.filter(id=upload_id).first()
        if upload is None:
            raise ApiError(f"Upload {upload_id} not found.", code="not_found", status_code=404)
        if upload.expires_at <= timezone.now():
            raise ApiError(
                f"Upload {upload_id} has expired; upload the file again.",
                code="upload_expired",
                status_code=410,
            )
        job = services.create_job(
            workspace, upload, dict(data), user=request.user, api_key=api_key_of(request)
        )
        return self._accepted(request, job)

    def _upload_and_separate(self, request, workspace):
        if "upload" in request.data:
            raise ApiError(
                "Send either a file (multipart) or the id of an upload (JSON), not both.",
                code="invalid_request",
            )
        job_request = _multipart_job_request(request)
        upload = receive.receive_upload(request, workspace, allowed_fields=REQUEST_FIELDS)
        try:
            job = services.create_job(
                workspace, upload, job_request, user=request.user, api_key=api_key_of(request)
            )
        except Exception:
            # The client never saw this upload's id: do not leave it behind.
            services.delete_upload(upload)
            raise
        return self._accepted(request, job)

    def _accepted(self, request, job: Job) -> Response:
        job = (
            Job.objects.select_related("upload")
            .prefetch_related("outputs", "events")
            .get(pk=job.pk)
        )
        response = job_response(request, job, status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"/api/v1/separations/{job.id}")
        return response


class SeparationDetailView(SeparationApiView):
    @extend_schema(
        operation_id="separations_retrieve",
        summary="A separation and its stems",
        parameters=[JOB_ID],
        responses={200: JobSerializer, 404: ERROR},
    )
    def get(self, request, job_id: str):
        return job_response(request, get_job(request, job_id))

    @extend_schema(
        operation_id="separations_destroy",
        parameters=[JOB_ID],
        request=None,
        summary="Delete a separation and its files (a running one is cancelled)",
        responses={204: OpenApiResponse(description="Deleted."), 404: ERROR},
    )
    def delete(self, request, job_id: str):
        job = get_job(request, job_id)
        services.delete_job(job)
        log.info("job %s deleted by workspace %s", job_id, job.workspace_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SeparationCancelView(SeparationApiView):
    @extend_schema(
        operation_id="separations_cancel",
        parameters=[JOB_ID],
        request=None,
        summary="Cancel a queued or running separation",
        responses={200: JobSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request, job_id: str):
        job = get_job(request, job_id)
        services.cancel_job(job)
        return job_response(request, get_job(request, job_id))


# --- Models -----------------------------------------------------------------------------------


def describe(spec: catalog.ModelSpec) -> dict:
    if spec.high_quality:
        note = (
            "Same checkpoint as spleeter:" + spec.checkpoint + ", keeping the spectrum up to "
            "16 kHz (slower, brighter stems)."
        )
    else:
        note = (
            "Cuts the spectrum above 11 kHz (Spleeter's default); use the -16kHz variant to "
            "keep up to 16 kHz."
        )
    return {
        "name": spec.name,
        "stems": list(spec.stems),
        "max_frequency": spec.max_frequency,
        "high_quality": spec.high_quality,
        "description": note,
    }


class ModelListView(SeparationApiView):
    @extend_schema(
        operation_id="models_list",
        summary="Installed separation models",
        responses=ModelSerializer(many=True),
    )
    def get(self, request):
        return Response([describe(spec) for spec in catalog.installed_models()])

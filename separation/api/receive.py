"""Receiving an uploaded file: stream it to a temporary file on disk, then hand it to
services.create_upload. Never the whole body in memory, and the temporary file always goes."""

from __future__ import annotations

import contextlib
import os
import tempfile

from django.conf import settings
from django.utils.http import parse_header_parameters

from accounts.models import ApiKey
from billing import services as billing
from separation import services
from separation.models import Upload
from stemsaas.api_errors import ApiError

CHUNK_BYTES = 1024 * 1024
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def is_multipart(request) -> bool:
    return (request.content_type or "").lower().startswith("multipart/form-data")


def _too_large(size: int) -> ApiError:
    return ApiError(
        f"The file is {size} bytes; the largest accepted is {settings.UPLOAD_MAX_BYTES} bytes.",
        code="file_too_large",
        status_code=413,
    )


def _content_length(request) -> int | None:
    value = request.META.get("CONTENT_LENGTH")
    if value in (None, ""):
        return None
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise ApiError("Content-Length must be a number of bytes.", code="invalid_request")
    return length


def check_before_reading(request, workspace) -> None:
    """Refuse a body that is too large from its Content-Length, before a byte of it is read."""
    length = _content_length(request)
    if length is None:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise ApiError(
                "Send the file with a Content-Length header (chunked uploads are not accepted).",
                code="length_required",
                status_code=411,
            )
        return
    slack = MULTIPART_OVERHEAD if is_multipart(request) else 0
    if length > settings.UPLOAD_MAX_BYTES + slack:
        raise _too_large(length)
    # Lenient by the multipart slack: create_upload checks the exact size (and duration) again.
    billing.check_upload_allowed(workspace, max(0, length - slack))


def _temp_path(suffix: str = "") -> str:
    handle, path = tempfile.mkstemp(
        prefix="stemsaas-upload-", suffix=suffix, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    os.close(handle)
    return path


def raw_filename(request) -> str:
    header = request.META.get("HTTP_CONTENT_DISPOSITION", "")
    _, params = parse_header_parameters(header) if header else ("", {})
    return services.clean_filename(params.get("filename"))


def _spool_raw_body(request, path: str) -> int:
    """Copy the request body to `path` in blocks; at most Content-Length bytes are read."""
    django_request = request._request
    remaining = _content_length(request) or 0
    written = 0
    with open(path, "wb") as out:
        while remaining > 0:
            block = django_request.read(min(CHUNK_BYTES, remaining))
            if not block:
                break  # the client sent less than it announced; the probe judges what came
            remaining -= len(block)
            written += len(block)
            if written > settings.UPLOAD_MAX_BYTES:
                raise _too_large(written)
            out.write(block)
    return written


def _multipart_file(request):
    uploaded = request.FILES.get("file")
    if uploaded is None:
        raise ApiError(
            "Send the audio as multipart field 'file', or as the raw body with a "
            "'Content-Disposition: attachment; filename=...' header.",
            code="missing_file",
        )
    if uploaded.size is not None and uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise _too_large(uploaded.size)
    return uploaded


@contextlib.contextmanager
def received_file(request):
    """Yield (local path, filename) of the uploaded file; the temporary copy is removed after."""
    own_path = None
    uploaded = None
    try:
        if is_multipart(request):
            uploaded = _multipart_file(request)
            filename = services.clean_filename(uploaded.name)
            if hasattr(uploaded, "temporary_file_path"):
                # Django already streamed it to disk (above FILE_UPLOAD_MAX_MEMORY_SIZE).
                yield uploaded.temporary_file_path(), filename
                return
            own_path = _temp_path()
            with open(own_path, "wb") as out:
                for block in uploaded.chunks(CHUNK_BYTES):
                    out.write(block)
        else:
            filename = raw_filename(request)
            own_path = _temp_path()
            _spool_raw_body(request, own_path)
        yield own_path, filename
    finally:
        if uploaded is not None:
            uploaded.close()
        if own_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(own_path)


def receive_upload(request, workspace, *, allowed_fields=("file",)) -> Upload:
    """Store the request's file for `workspace`: multipart field `file` or the raw body."""
    check_before_reading(request, workspace)
    if is_multipart(request):
        unknown = sorted(set(request.data.keys()) - set(allowed_fields))
        if unknown:
            raise ApiError(f"Unknown field(s): {', '.join(unknown)}.", code="unknown_field")
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    with received_file(request) as (path, filename):
        return services.create_upload(workspace, path, filename, user=request.user, api_key=api_key)

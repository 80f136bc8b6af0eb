"""One error shape for the whole API: {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response


class ApiError(exceptions.APIException):
    """Raise from views and services reached by the API; carries a stable machine code."""

    def __init__(
        self,
        message: str,
        code: str = "invalid_request",
        status_code: int = 400,
        extra: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.extra = extra or {}
        self.headers = headers or {}

    @classmethod
    def from_service_error(cls, exc) -> ApiError:
        """A service's refusal (message, code, status, extra) as the API's error; a
        `retry_after` in its extra becomes the Retry-After header."""
        extra = dict(getattr(exc, "extra", None) or {})
        headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else {}
        message = getattr(exc, "message", None) or str(exc)
        status_code = getattr(exc, "status", None) or exc.status_code
        return cls(
            str(message), code=exc.code, status_code=status_code, extra=extra, headers=headers
        )


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def error_response(message: str, code: str, status_code: int, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=status_code)


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        api_response = error_response(str(exc.detail), exc.code, exc.status_code, **exc.extra)
        for name, value in exc.headers.items():
            api_response[name] = value
        return api_response
    # Imported here: DRF's views load the throttle classes named in settings, which import this
    # module; a module-level import would make that a cycle.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid_request"
    elif isinstance(exc, exceptions.NotFound) or response.status_code == status.HTTP_404_NOT_FOUND:
        code = "not_found"
    elif isinstance(exc, exceptions.Throttled):
        code = "rate_limited"
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        code = "unauthenticated"
    elif isinstance(exc, exceptions.PermissionDenied):
        code = "forbidden"
    else:
        code = getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    message = _flatten(detail)
    error: dict[str, Any] = {"code": code, "message": message}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        error["fields"] = detail
    response.data = {"error": error}
    return response

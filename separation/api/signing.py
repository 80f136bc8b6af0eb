"""Signed download links: a browser, an <audio> tag or curl can fetch a stem without the key.

The token is a django.core.signing TimestampSigner over (workspace, job, what, format, stems), so a
link only opens the one file it was made for, and only for settings.SIGNED_URL_MAX_AGE seconds.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "stemsaas.separation.download"
TOKEN_PARAM = "token"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _payload(workspace_id: str, job_id: str, what: str, fmt: str, stems: str = "") -> dict:
    return {"w": workspace_id, "j": job_id, "k": what, "f": fmt, "s": stems}


def make_token(job, what: str, fmt: str, stems: str = "") -> str:
    return _signer().sign_object(_payload(job.workspace_id, job.id, what, fmt, stems))


def workspace_id_from_token(token: str, job_id: str, what: str, fmt: str, stems: str = "") -> str:
    """The workspace a valid token was signed for. Raises ApiError 403 when it was tampered
    with, has expired, or was made for another file."""
    # Imported here: stemsaas.api_errors imports DRF's views, which import the throttle classes
    # named in settings, which import stemsaas.api_errors. Importing it at module level from a
    # module loaded before DRF's views (a test module) would be a circular import.
    from stemsaas.api_errors import ApiError

    try:
        payload = _signer().unsign_object(token, max_age=settings.SIGNED_URL_MAX_AGE)
    except signing.SignatureExpired:
        raise ApiError(
            "This download link has expired; fetch the job again for a fresh one.",
            code="link_expired",
            status_code=403,
        ) from None
    except (signing.BadSignature, ValueError):
        raise ApiError(
            "The download link's signature is not valid.", code="invalid_signature", status_code=403
        ) from None
    if (
        not isinstance(payload, dict)
        or payload.get("w") is None
        or _payload(payload["w"], job_id, what, fmt, stems) != payload
    ):
        raise ApiError(
            "This download link was made for another file.",
            code="invalid_signature",
            status_code=403,
        )
    return payload["w"]


def stem_url(request, job, stem: str, fmt: str) -> str:
    path = reverse("api-separation-stem", args=[job.id, stem])
    query = urlencode({"format": fmt, TOKEN_PARAM: make_token(job, f"stem:{stem}", fmt)})
    return request.build_absolute_uri(f"{path}?{query}")


def archive_url(request, job, fmt: str, stems: list[str] | None = None) -> str:
    path = reverse("api-separation-archive", args=[job.id])
    params = {"format": fmt}
    joined = ",".join(stems or [])
    if joined:
        params["stems"] = joined
    params[TOKEN_PARAM] = make_token(job, "archive", fmt, joined)
    return request.build_absolute_uri(f"{path}?{urlencode(params)}")

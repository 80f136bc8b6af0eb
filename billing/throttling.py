"""API-key limits from the plan: API access at all, and requests per minute.

Plug in with REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["billing.throttling.PlanRateThrottle"].
Session (browser) requests are not limited here.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from billing import services
from stemsaas.api_errors import ApiError

WINDOW_SECONDS = 60


def as_api_error(exc) -> ApiError:
    """A SeparationError from the billing services as the API's error."""
    return ApiError.from_service_error(exc)


class PlanRateThrottle(BaseThrottle):
    """Requests made with an API key: 403 when the plan has no API access; 429 with Retry-After
    beyond the plan's requests per minute (a sliding window per workspace, in the cache)."""

    timer = staticmethod(time.time)

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        from separation.services import SeparationError

        workspace = request.auth.workspace
        try:
            plan = services.check_api_access(workspace)
        except SeparationError as exc:
            raise as_api_error(exc) from None
        limit = plan.api_requests_per_minute
        if not limit:  # 0: no limit
            return True
        key = f"billing:api-rate:{workspace.pk}"
        now = self.timer()
        history = [at for at in cache.get(key, []) if at > now - WINDOW_SECONDS]
        if len(history) >= limit:
            wait = max(1, math.ceil(min(history) + WINDOW_SECONDS - now))
            hint = services.upgrade_hint(
                plan,
                lambda p: p.api_requests_per_minute > limit,
                lambda p: f"{p.api_requests_per_minute} requests a minute",
            )
            raise ApiError(
                f"Rate limit: the {plan.name} plan allows {limit} API requests a minute; "
                f"retry in {wait} s. {hint}",
                code="rate_limited",
                status_code=429,
                extra={"limit": limit, "retry_after": wait, "plan": plan.slug},
                headers={"Retry-After": str(wait)},
            )
        history.append(now)
        cache.set(key, history, WINDOW_SECONDS)
        return True

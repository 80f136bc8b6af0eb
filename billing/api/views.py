from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import request_workspace
from billing import services


class UsageView(APIView):
    """The workspace's plan and minutes in the current billing period (seconds and minutes)."""

    @extend_schema(operation_id="usage", responses={200: dict})
    def get(self, request):
        usage = services.usage_for(request_workspace(request))
        numbers = {
            "limit": usage.limit_seconds,
            "used": usage.used_seconds,
            "reserved": usage.reserved_seconds,
            "left": usage.left_seconds,
            "overage": usage.overage_seconds,
        }
        return Response(
            {
                "plan": {"slug": usage.plan.slug, "name": usage.plan.name},
                "status": usage.status,
                "period": {"start": usage.period_start, "end": usage.period_end},
                "seconds": numbers,
                "minutes": {name: services.minutes(value) for name, value in numbers.items()},
                "per_day": [
                    {"date": day, "seconds": seconds, "minutes": services.minutes(seconds)}
                    for day, seconds in usage.per_day
                ],
            }
        )

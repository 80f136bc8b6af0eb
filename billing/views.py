"""Pricing and billing pages, the Stripe webhook and the LALAL.AI-compatible limits endpoint."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.models import ApiKey, Membership
from billing import services, stripe_client, subscriptions, webhooks
from billing.models import Plan

log = logging.getLogger(__name__)


def _workspace(request):
    workspace = getattr(request, "workspace", None)
    if not workspace:
        raise Http404("No workspace.")
    return workspace


def _can_manage(request, workspace) -> bool:
    membership = Membership.objects.filter(user=request.user, workspace=workspace).first()
    return bool(membership and membership.can_manage)


def pricing(request):
    current = None
    if request.user.is_authenticated and getattr(request, "workspace", None):
        current = services.plan_for(request.workspace)
    return render(
        request,
        "billing/pricing.html",
        {
            "plans": Plan.objects.public(),
            "current_plan": current,
            "payments_configured": stripe_client.configured(),
        },
    )


@login_required
def overview(request):
    workspace = _workspace(request)
    sub = services.subscription_for(workspace)
    usage = services.usage_for(workspace)
    return render(
        request,
        "billing/overview.html",
        {
            "workspace": workspace,
            "subscription": sub,
            "usage": usage,
            "plans": Plan.objects.public(),
            "can_manage": _can_manage(request, workspace),
            "payments_configured": stripe_client.configured(),
            "has_customer": bool(sub.stripe_customer_id),
            "limit_minutes": services.minutes(usage.limit_seconds),
            "used_minutes": services.minutes(usage.used_seconds),
            "reserved_minutes": services.minutes(usage.reserved_seconds),
            "left_minutes": services.minutes(usage.left_seconds),
            "per_day": [(day, services.minutes(seconds)) for day, seconds in usage.per_day],
            "chart": {
                "labels": [day.strftime("%b %d") for day, _ in usage.per_day],
                "minutes": [services.minutes(seconds) for _, seconds in usage.per_day],
            },
        },
    )


@login_required
@require_POST
def change_plan(request, slug):
    from separation.services import SeparationError

    workspace = _workspace(request)
    if not _can_manage(request, workspace):
        return HttpResponseForbidden("Only the workspace's owners and admins can change its plan.")
    plan = get_object_or_404(Plan, slug=slug, is_public=True)
    page = request.build_absolute_uri(reverse("billing:overview"))
    try:
        url = subscriptions.change_plan(
            workspace,
            plan,
            success_url=f"{page}?checkout=success",
            cancel_url=f"{page}?checkout=cancelled",
        )
    except SeparationError as exc:
        messages.error(request, exc.message)
        return redirect("billing:overview")
    except Exception:
        log.exception("plan change to %s failed for workspace %s", plan.slug, workspace.pk)
        messages.error(request, "Stripe could not be reached; nothing was changed. Try again.")
        return redirect("billing:overview")
    if url:
        return redirect(url)
    messages.success(
        request,
        f"Your plan is now {services.plan_for(workspace).name}."
        if not plan.is_default
        else "Your subscription ends at the end of the current period; then you are on Free.",
    )
    return redirect("billing:overview")


@login_required
@require_POST
def portal(request):
    workspace = _workspace(request)
    if not _can_manage(request, workspace):
        return HttpResponseForbidden("Only the workspace's owners and admins manage its billing.")
    if not stripe_client.configured():
        messages.error(request, "Payments are not configured on this server.")
        return redirect("billing:overview")
    try:
        url = subscriptions.portal_url(
            workspace, request.build_absolute_uri(reverse("billing:overview"))
        )
    except Exception:
        log.exception("portal session failed for workspace %s", workspace.pk)
        messages.error(request, "Stripe could not be reached. Try again.")
        return redirect("billing:overview")
    return redirect(url)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    status, message = webhooks.receive(
        request.body, request.headers.get("Stripe-Signature", ""), request.META.get("REMOTE_ADDR")
    )
    return HttpResponse(message, status=status, content_type="text/plain")


@require_GET
def get_limits(request):
    """GET /billing/get-limits/?key=<api key>, answered as LALAL.AI answers it (minutes)."""
    key = ApiKey.objects.authenticate(request.GET.get("key", "").strip())
    if key is None:
        return JsonResponse({"status": "error", "error": "License not found"})
    workspace = key.workspace
    usage = services.usage_for(workspace)
    owner = workspace.owner
    return JsonResponse(
        {
            "status": "success",
            "option": usage.plan.name,
            "email": owner.email if owner else "",
            "process_duration_limit": services.minutes(usage.limit_seconds),
            "process_duration_used": services.minutes(usage.used_seconds),
            "process_duration_left": services.minutes(usage.left_seconds),
        }
    )

"""Workspace pages: API keys (create, shown once; revoke) and the members and usage overview."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.services import create_api_key, deactivate_api_key
from billing import services as billing
from separation.models import JobStatus
from separation.views import current_plan, workspace_of


class KeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. Production server", "autocomplete": "off"}
        ),
    )


def _keys_context(workspace, form=None, new_key=None, raw=None) -> dict:
    return {
        "form": form or KeyForm(),
        "keys": workspace.api_keys.order_by("-is_active", "-created_at"),
        "new_key": new_key,
        "raw_key": raw,
        "plan": current_plan(workspace),
    }


@login_required
def keys(request):
    workspace = workspace_of(request)
    new_key = raw = None
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Rendered in this response and never again: the raw key is not stored anywhere.
        new_key, raw = create_api_key(
            workspace, form.cleaned_data["name"] or "Default", created_by=request.user
        )
        form = KeyForm()
    context = _keys_context(workspace, form, new_key, raw)
    if request.htmx:
        return render(request, "accounts/partials/keys_panel.html", context)
    return render(request, "accounts/keys.html", context)


@login_required
@require_POST
def revoke_key(request, key_id: str):
    workspace = workspace_of(request)
    key = get_object_or_404(workspace.api_keys, id=key_id)
    deactivate_api_key(key)
    if request.htmx:
        return render(request, "accounts/partials/keys_panel.html", _keys_context(workspace))
    return redirect("keys")


@login_required
def workspace(request):
    workspace = workspace_of(request)
    now = timezone.now()
    since = (now - timedelta(days=29)).replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    completed = workspace.jobs.filter(status=JobStatus.COMPLETED)
    per_day = {
        row["day"]: row["seconds"] or 0
        for row in completed.filter(finished_at__gte=since)
        .annotate(day=TruncDate("finished_at"))
        .values("day")
        .annotate(seconds=Sum("billed_seconds"))
    }
    days = [(since + timedelta(days=i)).date() for i in range(30)]
    chart = {
        "labels": [day.strftime("%b %d") for day in days],
        "minutes": [round(per_day.get(day, 0) / 60, 2) for day in days],
    }
    month = workspace.jobs.filter(created_at__gte=month_start).aggregate(
        jobs=Count("id"), seconds=Sum("billed_seconds")
    )
    usage = billing.usage_for(workspace)
    plan = usage.plan
    memberships = workspace.memberships.select_related("user").order_by("created_at")
    me = memberships.filter(user=request.user).first()
    return render(
        request,
        "accounts/workspace.html",
        {
            "workspace": workspace,
            "memberships": memberships,
            "me": me,
            "chart": chart,
            "month": month,
            "used_minutes": (usage.used_seconds + usage.reserved_seconds) / 60,
            "plan": plan,
            "usage_pct": usage.used_percent,
            "period_end": usage.period_end,
            "keys_count": workspace.api_keys.filter(is_active=True).count(),
            "total_jobs": workspace.jobs.count(),
        },
    )

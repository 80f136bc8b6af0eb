from django.contrib import admin

from billing import services
from billing.models import Charge, Plan, StripeEvent, Subscription, UsagePeriod, WebhookDelivery


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "price_cents",
        "included_seconds",
        "overage_allowed",
        "max_upload_bytes",
        "api_access",
        "api_requests_per_minute",
        "is_public",
        "is_default",
        "stripe_price_id",
    )
    list_editable = ("is_public",)
    ordering = ("position",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Assign a plan here when payments are not configured (or for a Custom plan). Stripe's
    fields are read-only: they are mirrored from Stripe by the webhook."""

    list_display = ("workspace", "plan", "status", "current_period_end", "stripe_customer_id")
    list_filter = ("plan", "status")
    search_fields = (
        "workspace__name",
        "workspace__id",
        "stripe_customer_id",
        "stripe_subscription_id",
    )
    readonly_fields = (
        "status",
        "stripe_customer_id",
        "stripe_subscription_id",
        "current_period_start",
        "current_period_end",
        "cancel_at_period_end",
        "stripe_synced_at",
        "updated_at",
    )
    raw_id_fields = ("workspace",)

    def save_model(self, request, obj, form, change):
        if change and "plan" in form.changed_data:
            services.assign_plan(obj.workspace, obj.plan)
        else:
            super().save_model(request, obj, form, change)


@admin.register(UsagePeriod)
class UsagePeriodAdmin(admin.ModelAdmin):
    list_display = (
        "workspace",
        "start",
        "end",
        "used_seconds",
        "reserved_seconds",
        "overage_seconds",
    )
    search_fields = ("workspace__name", "workspace__id")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Charge)
class ChargeAdmin(admin.ModelAdmin):
    list_display = (
        "job_ref",
        "workspace",
        "seconds",
        "status",
        "overage_seconds",
        "captured_at",
        "meter_reported_at",
    )
    list_filter = ("status",)
    search_fields = ("job_ref", "workspace__id")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "event_type", "event_id", "outcome", "remote_addr")
    list_filter = ("outcome", "event_type")
    search_fields = ("event_id",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "created", "processed_at", "attempts")
    list_filter = ("type",)
    search_fields = ("event_id",)

    def has_change_permission(self, request, obj=None):
        return False

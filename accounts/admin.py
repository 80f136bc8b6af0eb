from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ApiKey, Membership, User, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "workspace"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "personal", "member_count", "job_count", "created_at"]
    list_filter = ["personal", "created_at"]
    search_fields = ["name", "id", "memberships__user__email"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, workspace):
        return workspace.memberships.count()

    @admin.display(description="jobs")
    def job_count(self, workspace):
        return workspace.jobs.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "masked",
        "workspace",
        "is_active",
        "calls_count",
        "last_used_at",
        "created_at",
    ]
    list_filter = ["is_active", "created_at", "last_used_at"]
    search_fields = ["name", "lookup", "workspace__name", "workspace__id"]
    readonly_fields = ["id", "lookup", "hashed", "calls_count", "last_used_at", "created_at"]
    autocomplete_fields = ["workspace", "created_by"]
    actions = ["deactivate"]

    def has_add_permission(self, request):
        return False  # keys are created where the raw key can be shown once

    @admin.action(description="Deactivate selected keys")
    def deactivate(self, request, queryset):
        queryset.update(is_active=False)

from django.contrib import admin

from separation.models import Job, JobEvent, Mix, Output, Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "id",
        "workspace",
        "size",
        "duration",
        "container",
        "codec",
        "sample_rate",
        "channels",
        "created_at",
        "expires_at",
    ]
    list_filter = ["container", "codec", "sample_rate", "channels", "created_at"]
    search_fields = ["id", "filename", "workspace__name", "workspace__id"]
    readonly_fields = ["id", "created_at"]
    raw_id_fields = ["workspace", "created_by", "api_key"]


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    readonly_fields = ["at", "message"]
    can_delete = False


class OutputInline(admin.TabularInline):
    model = Output
    extra = 0
    readonly_fields = ["id", "stem", "format", "file", "size", "created_at"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "workspace",
        "model",
        "format",
        "status",
        "progress",
        "billed_seconds",
        "attempts",
        "worker",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "model", "format", "created_at"]
    search_fields = ["id", "workspace__name", "workspace__id", "upload__filename", "worker"]
    readonly_fields = [
        "id",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "attempts",
        "worker",
    ]
    raw_id_fields = ["workspace", "upload", "created_by", "api_key"]
    inlines = [OutputInline, JobEventInline]
    date_hierarchy = "created_at"


@admin.register(Output)
class OutputAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "stem", "format", "size", "created_at"]
    list_filter = ["stem", "format"]
    search_fields = ["id", "job__id"]
    raw_id_fields = ["job"]


@admin.register(Mix)
class MixAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "name", "format", "size", "created_at"]
    list_filter = ["format"]
    search_fields = ["id", "job__id", "name"]
    raw_id_fields = ["job"]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["job", "at", "message"]
    search_fields = ["job__id", "message"]
    raw_id_fields = ["job"]

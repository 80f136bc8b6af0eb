"""JSON shapes of the separation API. Requests are validated by separation.options (one source of
truth for pages and API); the request serializers here exist to document them in the schema."""

from __future__ import annotations

from typing import cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from separation import audio, eta
from separation.api import signing
from separation.models import Job, JobStatus, Upload
from separation.options import JobOptions


class UploadSerializer(serializers.ModelSerializer):
    duration = serializers.FloatField(read_only=True, help_text="Seconds.")

    class Meta:
        model = Upload
        fields = ["id", "filename", "size", "duration", "sample_rate", "channels", "expires_at"]
        read_only_fields = fields


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The audio file.")


class SectionSerializer(serializers.Serializer):
    start = serializers.FloatField(required=False, help_text="Seconds from the start (default 0).")
    duration = serializers.FloatField(required=False, help_text="Seconds (default: to the end).")


class SeparationRequestSerializer(serializers.Serializer):
    upload = serializers.CharField(help_text="Id of an upload (upl_…) of this workspace.")
    model = serializers.CharField(
        required=False,
        help_text="spleeter:2stems (default), spleeter:4stems, spleeter:5stems; add -16kHz to "
        "keep the spectrum up to 16 kHz instead of 11 kHz.",
    )
    stems = serializers.JSONField(
        required=False,
        help_text='2, 4 or 5 (picks the model), or a list of stem names such as ["vocals"] or '
        '["instrumental"]: those stems plus a `back` track with the rest.',
    )
    format = serializers.ChoiceField(choices=audio.FORMATS, required=False, default="wav")
    bitrate = serializers.IntegerField(required=False, help_text="mp3/m4a, kbps (96-320).")
    bit_depth = serializers.IntegerField(required=False, help_text="wav/flac: 16 or 24.")
    quality = serializers.ChoiceField(
        choices=["standard", "high"],
        required=False,
        help_text="high: the -16kHz variant of the model.",
    )
    section = SectionSerializer(required=False)
    callback_url = serializers.URLField(required=False, help_text="POSTed the job when it ends.")
    custom_metadata = serializers.JSONField(
        required=False, help_text="Any JSON object, returned as given."
    )


class SeparationUploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The audio file: uploaded and separated in one call.")
    stems = serializers.IntegerField(required=False, help_text="2 (default), 4 or 5.")
    model = serializers.CharField(required=False)
    format = serializers.ChoiceField(choices=audio.FORMATS, required=False, default="wav")
    quality = serializers.ChoiceField(choices=["standard", "high"], required=False)


class EventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    message = serializers.CharField()


class OutputSerializer(serializers.Serializer):
    stem = serializers.CharField()
    format = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    url = serializers.URLField(help_text="Signed download link; expires.")


def job_options(job: Job) -> JobOptions:
    return JobOptions.from_json(job.options or {})


def output_stems(job: Job) -> list[str]:
    try:
        return job_options(job).output_stems()
    except KeyError:  # a model name this server no longer knows
        return sorted({output.stem for output in job.outputs.all()})


class JobSerializer(serializers.ModelSerializer):
    """A separation job; needs `request` in the context to build download links."""

    queue_position = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    stems = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    archive_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    upload = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "status",
            "progress",
            "queue_position",
            "eta_seconds",
            "model",
            "format",
            "stems",
            "options",
            "events",
            "outputs",
            "archive_url",
            "error",
            "upload",
            "analysis",
            "custom_metadata",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_queue_position(self, job: Job) -> int | None:
        return job.queue_position

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_eta_seconds(self, job: Job) -> float | None:
        """Seconds until the job ends, from the deployment's measured speed; null when unknown."""
        return eta.eta_seconds(job)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_stems(self, job: Job) -> list[str]:
        return output_stems(job)

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, job: Job) -> list[dict]:
        # many=True makes a ListSerializer, whose .data is a list; the stubs cannot tell.
        return cast(list[dict], EventSerializer(job.events.all(), many=True).data)

    def _outputs(self, job: Job) -> list:
        if job.status != JobStatus.COMPLETED:
            return []
        order = {stem: index for index, stem in enumerate(output_stems(job))}
        outputs = [output for output in job.outputs.all() if output.format == job.format]
        return sorted(outputs, key=lambda output: (order.get(output.stem, len(order)), output.stem))

    @extend_schema_field(OutputSerializer(many=True))
    def get_outputs(self, job: Job) -> list[dict]:
        request = self.context["request"]
        return [
            {
                "stem": output.stem,
                "format": output.format,
                "size": output.size,
                "url": signing.stem_url(request, job, output.stem, output.format),
            }
            for output in self._outputs(job)
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_archive_url(self, job: Job) -> str | None:
        if not self._outputs(job):
            return None
        return signing.archive_url(self.context["request"], job, job.format)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, job: Job) -> str | None:
        return job.error or None

    @extend_schema_field(
        inline_serializer(
            "JobUpload",
            {
                "id": serializers.CharField(),
                "filename": serializers.CharField(),
                "duration": serializers.FloatField(),
            },
        )
    )
    def get_upload(self, job: Job) -> dict:
        return {
            "id": job.upload_id,
            "filename": job.upload.filename,
            "duration": job.upload.duration,
        }


class ModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    stems = serializers.ListField(child=serializers.CharField())
    max_frequency = serializers.IntegerField(help_text="Hz kept; the rest of the spectrum is cut.")
    high_quality = serializers.BooleanField()
    description = serializers.CharField()

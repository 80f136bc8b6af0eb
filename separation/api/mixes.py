"""Server-side mixes of a job's stems: POST to make one, GET to list them or fetch the file."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from separation import audio, services
from separation.api import signing
from separation.api.downloads import FILE, TOKEN, _job_for_download, download_name
from separation.api.views import ERROR, JOB_ID, SeparationApiView, get_job
from separation.models import Mix
from stemsaas.api_errors import ApiError


class TrackSerializer(serializers.Serializer):
    stem = serializers.CharField()
    volume = serializers.FloatField(min_value=0, max_value=1, default=1.0)
    pan = serializers.FloatField(min_value=-1, max_value=1, default=0.0)


class MixRequestSerializer(serializers.Serializer):
    tracks = TrackSerializer(many=True)
    format = serializers.ChoiceField(choices=audio.FORMATS, default="wav")
    name = serializers.CharField(max_length=100, default="mix")
    bitrate = serializers.IntegerField(required=False)
    bit_depth = serializers.IntegerField(required=False)


class MixSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Mix
        fields = ["id", "name", "format", "size", "tracks", "url", "created_at"]

    def get_url(self, mix: Mix) -> str:
        request = self.context["request"]
        path = reverse("api-separation-mix-file", args=[mix.job_id, mix.id])
        token = signing.make_token(mix.job, f"mix:{mix.id}", mix.format)
        return request.build_absolute_uri(
            f"{path}?{urlencode({'format': mix.format, signing.TOKEN_PARAM: token})}"
        )


class MixListView(SeparationApiView):
    @extend_schema(
        operation_id="separations_mixes_create",
        summary="Mix stems on the server",
        description="`tracks`: [{stem, volume 0..1, pan -1 (left) .. 1 (right)}]. "
        "A track at volume 0 is silent: vocals at 0 plus the rest at 1 "
        "is the accompaniment.",
        parameters=[JOB_ID],
        request=MixRequestSerializer,
        responses={201: MixSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, job_id: str):
        job = get_job(request, job_id)
        known = {"tracks", "format", "name", "bitrate", "bit_depth"}
        unknown = sorted(set(request.data) - known) if hasattr(request.data, "keys") else []
        if unknown:
            raise ApiError(f"Unknown field(s): {', '.join(unknown)}.", code="unknown_field")
        data = request.data
        options = {
            name: data[name] for name in ("bitrate", "bit_depth") if data.get(name) is not None
        }
        mix = services.create_mix(
            job,
            data.get("tracks"),
            data.get("format") or "wav",
            data.get("name") or "mix",
            **options,
        )
        return Response(
            MixSerializer(mix, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="separations_mixes_list",
        summary="A job's mixes",
        parameters=[JOB_ID],
        responses={200: MixSerializer(many=True), 404: ERROR},
    )
    def get(self, request, job_id: str):
        job = get_job(request, job_id)
        return Response(
            MixSerializer(job.mixes.all(), many=True, context={"request": request}).data
        )


class MixFileView(SeparationApiView):
    permission_classes: list = []  # key, session or signed link: checked below

    @extend_schema(
        operation_id="separations_mix_file",
        summary="Download a mix",
        parameters=[JOB_ID, TOKEN],
        responses={(200, "application/octet-stream"): FILE, 403: ERROR, 404: ERROR},
    )
    def get(self, request, job_id: str, mix_id: str):
        fmt = request.query_params.get("format", "")
        token = request.query_params.get(signing.TOKEN_PARAM)
        job = _job_for_download(request, job_id, f"mix:{mix_id}", fmt if token else "")
        mix = job.mixes.filter(id=mix_id).first()
        if mix is None or (token and fmt != mix.format):
            raise ApiError(f"Mix {mix_id} not found.", code="not_found", status_code=404)
        return FileResponse(
            mix.file.open("rb"),
            as_attachment=True,
            filename=download_name(job, mix.name, mix.format),
            content_type=audio.CONTENT_TYPES[mix.format],
        )

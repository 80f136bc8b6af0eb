"""API keys of the request's workspace: create (shown once), list (masked), deactivate."""

from __future__ import annotations

import logging

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.permissions import request_workspace
from accounts.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    NewApiKeySerializer,
)
from stemsaas.api_errors import ApiError

log = logging.getLogger(__name__)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <api key>` in the schema (registered on import)."""

    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from POST /api/v1/keys or the API keys page.",
        }


class ApiKeyListView(APIView):
    @extend_schema(
        operation_id="keys_list",
        responses=ApiKeySerializer(many=True),
        summary="List the workspace's API keys (masked)",
    )
    def get(self, request):
        keys = request_workspace(request).api_keys.order_by("-created_at")
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        operation_id="keys_create",
        request=ApiKeyCreateSerializer,
        responses={201: NewApiKeySerializer},
        summary="Create an API key; the response is the only time the key is shown",
    )
    def post(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = request_workspace(request)
        key, raw = services.create_api_key(
            workspace, name=serializer.validated_data["name"], created_by=request.user
        )
        log.info("api key %s created in workspace %s by %s", key.id, workspace.id, request.user)
        data = NewApiKeySerializer(key).data
        data["key"] = raw
        data["masked"] = key.masked
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    @extend_schema(
        operation_id="keys_deactivate",
        request=None,
        responses={204: OpenApiResponse(description="Deactivated.")},
        summary="Deactivate an API key",
    )
    def delete(self, request, key_id: str):
        key = request_workspace(request).api_keys.filter(id=key_id).first()
        if key is None:
            raise ApiError(f"API key {key_id} not found.", code="not_found", status_code=404)
        services.deactivate_api_key(key)
        log.info("api key %s deactivated in workspace %s", key.id, key.workspace_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""`Authorization: Bearer <api key>` authentication for the REST API."""

from rest_framework import authentication, exceptions

from accounts.models import ApiKey
from accounts.services import record_api_key_use


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() not in ("bearer", "token", "license"):
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; use 'Authorization: Bearer <api key>'."
            )
        key = ApiKey.objects.authenticate(parts[1])
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or deactivated API key.")
        record_api_key_use(key)
        request._request.workspace = key.workspace
        user = key.created_by or key.workspace.owner
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("The API key's owner is inactive.")
        return user, key

    def authenticate_header(self, request):
        return self.keyword

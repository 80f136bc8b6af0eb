from rest_framework.permissions import BasePermission


def request_workspace(request):
    """The workspace of an API request: the key's, or the signed-in user's current one."""
    workspace = getattr(request._request, "workspace", None)
    # SimpleLazyObject: evaluate so that a missing workspace is None, not a proxy of None.
    return workspace if workspace else None


class HasWorkspace(BasePermission):
    """Authenticated with a key or a session that resolves to a workspace."""

    message = "Authentication required: send 'Authorization: Bearer <api key>'."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request_workspace(request))

"""Attach the workspace a signed-in browser user acts in as `request.workspace`."""

from django.utils.functional import SimpleLazyObject

from accounts.services import workspace_for_user

SESSION_KEY = "workspace_id"


def _resolve(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return workspace_for_user(user, request.session.get(SESSION_KEY))


class WorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = SimpleLazyObject(lambda: _resolve(request))
        return self.get_response(request)

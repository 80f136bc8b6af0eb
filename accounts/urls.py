from django.urls import path

from accounts import views

urlpatterns = [
    path("keys/", views.keys, name="keys"),
    path("keys/<str:key_id>/revoke/", views.revoke_key, name="key-revoke"),
    path("workspace/", views.workspace, name="workspace"),
]

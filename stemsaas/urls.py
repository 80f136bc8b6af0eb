from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import billing.views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("separation.api.urls")),
    path("", include("billing.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("billing/", include("billing.urls")),
    path("pricing/", billing.views.pricing, name="pricing"),
    path("", include("accounts.urls")),
    path("", include("separation.urls")),
]

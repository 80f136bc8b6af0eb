from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("plan/<slug:slug>/", views.change_plan, name="change_plan"),
    path("portal/", views.portal, name="portal"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("get-limits/", views.get_limits, name="get_limits"),
]

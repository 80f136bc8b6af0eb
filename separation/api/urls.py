from django.urls import path

from separation.api import downloads, mixes, views

urlpatterns = [
    path("uploads", views.UploadView.as_view(), name="api-uploads"),
    path("separations", views.SeparationListView.as_view(), name="api-separations"),
    path("separations/<str:job_id>", views.SeparationDetailView.as_view(), name="api-separation"),
    path(
        "separations/<str:job_id>/cancel",
        views.SeparationCancelView.as_view(),
        name="api-separation-cancel",
    ),
    path(
        "separations/<str:job_id>/stems/<str:stem>",
        downloads.StemDownloadView.as_view(),
        name="api-separation-stem",
    ),
    path(
        "separations/<str:job_id>/archive",
        downloads.ArchiveDownloadView.as_view(),
        name="api-separation-archive",
    ),
    path(
        "separations/<str:job_id>/mixes", mixes.MixListView.as_view(), name="api-separation-mixes"
    ),
    path(
        "separations/<str:job_id>/mixes/<str:mix_id>/file",
        mixes.MixFileView.as_view(),
        name="api-separation-mix-file",
    ),
    path("models", views.ModelListView.as_view(), name="api-models"),
]

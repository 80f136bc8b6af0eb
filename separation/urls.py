from django.urls import path

from separation import views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo/<str:name>", views.demo_file, name="demo-file"),
    path("upload/", views.upload, name="upload"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/<str:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<str:job_id>/live/", views.job_live, name="job-live"),
    path("jobs/<str:job_id>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<str:job_id>/delete/", views.job_delete, name="job-delete"),
    path("jobs/<str:job_id>/mix/", views.job_mix, name="job-mix"),
    path("jobs/<str:job_id>/mixes/<str:mix_id>/", views.mix_download, name="job-mix-download"),
]

"""The Celery application. Workers: `celery -A stemsaas worker -Q separation,default`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsaas.settings")

app = Celery("stemsaas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

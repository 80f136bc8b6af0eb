from django.apps import AppConfig


class SeparationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "separation"

"""The plans a fresh installation starts with (upload sizes as EzStems sells them).

Used by the data migration and, if the table was emptied, by `Plan.objects.default()`. Existing
rows are never overwritten: prices and limits are edited in the admin.
"""

MB = 1024 * 1024
ALL_2_4_5 = ["spleeter:2stems", "spleeter:4stems", "spleeter:5stems"]

PLANS = [
    {
        "slug": "free",
        "name": "Free",
        "position": 0,
        "is_default": True,
        "price_cents": 0,
        "included_seconds": 10 * 60,
        "overage_allowed": False,
        "overage_cents_per_minute": 0,
        "max_upload_bytes": 20 * MB,
        "max_file_seconds": 10 * 60,
        "concurrent_jobs": 1,
        "allowed_models": ["spleeter:2stems", "spleeter:4stems"],
        "allowed_formats": ["wav", "mp3"],
        "api_access": False,
        "api_requests_per_minute": 0,
        "retention_days": 1,
    },
    {
        "slug": "basic",
        "name": "Basic",
        "position": 10,
        "price_cents": 900,
        "included_seconds": 60 * 60,
        "overage_allowed": False,
        "overage_cents_per_minute": 0,
        "max_upload_bytes": 30 * MB,
        "max_file_seconds": 20 * 60,
        "concurrent_jobs": 2,
        "allowed_models": ALL_2_4_5,
        "allowed_formats": [],
        "api_access": True,
        "api_requests_per_minute": 30,
        "retention_days": 7,
    },
    {
        "slug": "premium",
        "name": "Premium",
        "position": 20,
        "price_cents": 1900,
        "included_seconds": 180 * 60,
        "overage_allowed": True,
        "overage_cents_per_minute": 12,
        "max_upload_bytes": 40 * MB,
        "max_file_seconds": 30 * 60,
        "concurrent_jobs": 3,
        "allowed_models": [],
        "allowed_formats": [],
        "api_access": True,
        "api_requests_per_minute": 60,
        "retention_days": 14,
    },
    {
        "slug": "pro",
        "name": "Pro",
        "position": 30,
        "price_cents": 4900,
        "included_seconds": 600 * 60,
        "overage_allowed": True,
        "overage_cents_per_minute": 9,
        "max_upload_bytes": 75 * MB,
        "max_file_seconds": 60 * 60,
        "concurrent_jobs": 5,
        "allowed_models": [],
        "allowed_formats": [],
        "api_access": True,
        "api_requests_per_minute": 120,
        "retention_days": 30,
    },
    {
        "slug": "custom",
        "name": "Custom",
        "position": 40,
        "is_custom": True,
        "price_cents": 0,
        "included_seconds": 3000 * 60,
        "overage_allowed": True,
        "overage_cents_per_minute": 6,
        "max_upload_bytes": 300 * MB,
        "max_file_seconds": 180 * 60,
        "concurrent_jobs": 10,
        "allowed_models": [],
        "allowed_formats": [],
        "api_access": True,
        "api_requests_per_minute": 600,
        "retention_days": 90,
    },
]


def seed_plans(plan_model) -> None:
    """Create the missing plans; `plan_model` is the real or the migration's historical model."""
    for data in PLANS:
        fields = dict(data)
        plan_model.objects.get_or_create(slug=fields.pop("slug"), defaults=fields)

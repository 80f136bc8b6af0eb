"""Small display helpers for the job pages."""

from django import template

register = template.Library()

STEM_COLORS = {
    "vocals": "#f472b6",
    "accompaniment": "#60a5fa",
    "drums": "#fbbf24",
    "bass": "#34d399",
    "piano": "#a78bfa",
    "other": "#94a3b8",
    "back": "#60a5fa",
    "instrumental": "#60a5fa",
}


@register.filter
def mmss(seconds) -> str:
    """125.4 -> '2:05'."""
    try:
        total = int(round(float(seconds)))
    except (TypeError, ValueError):
        return "–"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def duration(value) -> str:
    """A timedelta as '1 min 05 s' / '12 s'."""
    if value is None:
        return "–"
    total = int(value.total_seconds())
    minutes, secs = divmod(total, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


@register.filter
def stem_color(stem: str) -> str:
    return STEM_COLORS.get(stem, "#94a3b8")


@register.filter
def model_label(model: str) -> str:
    """'spleeter:4stems-16kHz' -> '4 stems · high quality'."""
    name = model.split(":")[-1]
    count = name.split("stems")[0]
    return f"{count} stems" + (" · high quality" if name.endswith("-16kHz") else "")


@register.filter
def div60(seconds) -> int:
    return int(seconds or 0) // 60

"""The upload form of the HTML pages. The rules themselves live in separation.options and billing;
this form only shapes the browser's fields into the request dict that services.create_job takes."""

from __future__ import annotations

from django import forms

from separation import audio

STEM_CHOICES = [
    ("2", "2 stems"),
    ("4", "4 stems"),
    ("5", "5 stems"),
]
STEM_HELP = {
    "2": "Vocals + accompaniment",
    "4": "Vocals, drums, bass, other",
    "5": "Vocals, drums, bass, piano, other",
}
STEM_MODEL = {"2": "spleeter:2stems", "4": "spleeter:4stems", "5": "spleeter:5stems"}
QUALITY_CHOICES = [("standard", "Standard"), ("high", "High")]
QUALITY_HELP = {"standard": "Up to 11 kHz, fastest", "high": "Keeps up to 16 kHz"}
FORMAT_HELP = {
    "wav": "Lossless, largest",
    "flac": "Lossless, smaller",
    "mp3": "320 kbps",
    "m4a": "AAC, small",
}

# Where a SeparationError code belongs on the page: next to the field the user has to change.
ERROR_FIELD = {
    "empty_file": "file",
    "invalid_audio": "file",
    "file_too_large": "file",
    "missing_filename": "file",
    "file_too_long": "file",
    "upload_too_large": "file",
    "insufficient_minutes": "file",
    "invalid_model": "stems",
    "model_not_installed": "stems",
    "invalid_stem": "stems",
    "model_not_in_plan": "stems",
    "invalid_format": "format",
    "format_not_in_plan": "format",
    "invalid_section": "section",
    "quality_not_allowed": "quality",
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Audio file", error_messages={"required": "Choose an audio file to split."}
    )
    stems = forms.ChoiceField(
        label="Stems", choices=STEM_CHOICES, initial="2", widget=forms.RadioSelect
    )
    quality = forms.ChoiceField(
        label="Quality", choices=QUALITY_CHOICES, initial="standard", widget=forms.RadioSelect
    )
    format = forms.ChoiceField(
        label="Output format",
        choices=[(f, f.upper()) for f in audio.FORMATS],
        initial="wav",
        widget=forms.RadioSelect,
    )
    section_start = forms.FloatField(label="Start at (seconds)", required=False, min_value=0)
    section_duration = forms.FloatField(label="Length (seconds)", required=False, min_value=0.1)

    def job_request(self) -> dict:
        data = self.cleaned_data
        request = {
            "stems": int(data["stems"]),
            "quality": data["quality"],
            "format": data["format"],
        }
        if data.get("section_start") or data.get("section_duration"):
            request["section"] = {
                "start": data.get("section_start") or 0,
                "duration": data.get("section_duration"),
            }
        return request

    def add_service_error(self, exc) -> None:
        """Show a SeparationError next to the field it is about (the form's top otherwise)."""
        field = ERROR_FIELD.get(getattr(exc, "code", ""))
        if field == "section":
            field = "section_start"
        self.add_error(field if field in self.fields else None, exc.message)

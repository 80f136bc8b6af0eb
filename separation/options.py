"""What a separation request may ask for, validated into one `JobOptions` value.

Fields (JSON body of POST /api/v1/separations, or multipart form fields):
- `model`: spleeter:2stems (default) | spleeter:4stems | spleeter:5stems, optionally with the
  `-16kHz` suffix; or `quality: "high"` to pick the 16 kHz variant of the same checkpoint.
- `stems`: 2, 4 or 5 (a model), or a list of stem names (`["vocals"]`, `["instrumental"]`,
  `["drums", "bass"]`): the chosen stems plus a `back` track, the sum of the rest.
- `format`: wav (default) | flac | mp3 | m4a; `bitrate` (mp3/m4a, kbps); `bit_depth` (wav/flac).
- `section`: {"start": seconds, "duration": seconds}; only that part is separated and billed.
- `callback_url`, `custom_metadata`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from urllib.parse import urlparse

from separation import audio, catalog

STEM_COUNT_TO_MODEL = {2: "spleeter:2stems", 4: "spleeter:4stems", 5: "spleeter:5stems"}
INSTRUMENTAL = "instrumental"
BACK = "back"


def _error(message: str, code: str = "invalid_request"):
    from separation.services import SeparationError

    return SeparationError(message, code=code)


@dataclass
class JobOptions:
    model: str = "spleeter:2stems"
    format: str = "wav"
    stems: list[str] = field(default_factory=list)  # empty: every stem of the model
    bitrate: int | None = None
    bit_depth: int | None = None
    section_start: float = 0.0
    section_duration: float | None = None
    callback_url: str = ""
    custom_metadata: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("callback_url")
        data.pop("custom_metadata")
        return data

    @classmethod
    def from_json(cls, data: dict) -> JobOptions:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})

    def billed_seconds(self, upload) -> int:
        """Whole seconds of input this job separates (rounded up): what it costs."""
        total = upload.duration_ms / 1000
        length = total - self.section_start
        if self.section_duration is not None:
            length = min(length, self.section_duration)
        return max(1, math.ceil(max(length, 0) - 1e-9))

    @property
    def spec(self) -> catalog.ModelSpec:
        return catalog.ALL_MODELS[self.model]

    def output_stems(self) -> list[str]:
        """Names of the files this job produces, in order."""
        return list(self.wanted_groups())

    def wanted_groups(self) -> dict[str, list[str]]:
        """Output name -> the model stems summed into it."""
        model_stems = list(self.spec.stems)
        if not self.stems:
            return {stem: [stem] for stem in model_stems}
        groups: dict[str, list[str]] = {}
        used: set[str] = set()
        for name in self.stems:
            parts = [s for s in model_stems if s != "vocals"] if name == INSTRUMENTAL else [name]
            groups[name] = parts
            used.update(parts)
        back = [s for s in model_stems if s not in used]
        if back:  # the sum of the stems not asked for
            groups[BACK] = back
        return groups


def _pick_model(request: dict, stem_names: list[str]) -> str:
    model = request.get("model")
    stems = request.get("stems")
    if isinstance(stems, str) and stems.strip().isdigit():
        stems = int(stems)
    if isinstance(stems, int) and not isinstance(stems, bool):
        if stems not in STEM_COUNT_TO_MODEL:
            raise _error(f"stems={stems} is not offered; use 2, 4 or 5.")
        count_model = STEM_COUNT_TO_MODEL[stems]
        if model and model.split("-16kHz")[0] != count_model:
            raise _error(f"model={model!r} does not give {stems} stems.")
        model = model or count_model
    if not model:
        if stem_names:
            # The smallest model that has every stem asked for.
            for checkpoint, available in catalog.STEMS.items():
                if all(name == INSTRUMENTAL or name in available for name in stem_names):
                    model = f"spleeter:{checkpoint}"
                    break
            else:
                known = sorted({s for stems in catalog.STEMS.values() for s in stems})
                raise _error(
                    f"Unknown stem in {stem_names}; stems are {', '.join(known)} "
                    f"or {INSTRUMENTAL}.",
                    code="invalid_stem",
                )
        else:
            model = "spleeter:2stems"
    if not isinstance(model, str) or model not in catalog.ALL_MODELS:
        raise _error(
            f"Unknown model {model!r}; models are {', '.join(catalog.ALL_MODELS)}.",
            code="invalid_model",
        )
    quality = request.get("quality", "standard")
    if quality not in ("standard", "high"):
        raise _error("quality must be 'standard' (up to 11 kHz) or 'high' (up to 16 kHz).")
    if quality == "high" and not model.endswith("-16kHz"):
        model += "-16kHz"
    spec = catalog.ALL_MODELS[model]
    if not catalog.is_installed(spec.checkpoint):
        from separation.services import installed_model_names

        raise _error(
            f"Model {model} is not installed on this server; installed models: "
            f"{', '.join(installed_model_names()) or 'none'}.",
            code="model_not_installed",
        )
    return model


def _number(request: dict, name: str) -> float | None:
    value = request.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _error(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise _error(f"{name} must be a finite number.")
    return number


# The fields a client may send to start a separation (JSON, or multipart with the file).
REQUEST_FIELDS = frozenset(
    {
        "upload",
        "file",
        "model",
        "stems",
        "format",
        "bitrate",
        "bit_depth",
        "section",
        "quality",
        "callback_url",
        "custom_metadata",
        "stem",
        "filter",
    }
)


def parse_job_request(request: dict, upload) -> JobOptions:
    """Validate the client's fields against the upload and the installed models."""
    unknown = sorted(set(request) - REQUEST_FIELDS)
    if unknown:
        raise _error(f"Unknown field(s): {', '.join(unknown)}.", code="unknown_field")

    stems_field = request.get("stems")
    if isinstance(stems_field, str) and not stems_field.strip().isdigit():
        stems_field = [part.strip() for part in stems_field.split(",") if part.strip()]
    if request.get("stem"):  # LALAL.AI style: one stem plus its back track
        stems_field = [request["stem"]]
    stem_names: list[str] = stems_field if isinstance(stems_field, list) else []
    if isinstance(stems_field, list) and not stem_names:
        raise _error("stems must not be empty.")
    if stem_names and not all(isinstance(name, str) for name in stem_names):
        raise _error("stems must be a number (2, 4, 5) or a list of stem names.")
    if stem_names:
        request = {**request, "stems": None}
    model = _pick_model(request, stem_names)
    spec = catalog.ALL_MODELS[model]
    for name in stem_names:
        if name != INSTRUMENTAL and name not in spec.stems:
            raise _error(
                f"Stem {name!r} is not produced by {model}; its stems are {', '.join(spec.stems)}.",
                code="invalid_stem",
            )
    if len(set(stem_names)) != len(stem_names):
        raise _error("stems lists a stem twice.")
    if INSTRUMENTAL in stem_names and "vocals" in stem_names:
        raise _error("Ask for vocals or instrumental, not both: the back track is the other.")

    fmt = request.get("format") or "wav"
    if fmt not in audio.FORMATS:
        raise _error(
            f"Unknown format {fmt!r}; use one of {', '.join(audio.FORMATS)}.", code="invalid_format"
        )
    bitrate = _number(request, "bitrate")
    bit_depth = _number(request, "bit_depth")
    try:
        audio.encode_args(fmt, bitrate=bitrate, bit_depth=bit_depth)
    except audio.AudioError as exc:
        raise _error(str(exc), code="invalid_format") from None

    section = request.get("section") or {}
    if not isinstance(section, dict):
        raise _error("section must be an object {start, duration} in seconds.")
    start = _number(section, "start") or 0.0
    duration = _number(section, "duration")
    total = upload.duration_ms / 1000
    if start < 0:
        raise _error("section.start must be 0 or more.", code="invalid_section")
    if start >= total:
        raise _error(
            f"section.start={start:g} s is past the end of the file ({total:.2f} s).",
            code="invalid_section",
        )
    if duration is not None and duration <= 0:
        raise _error("section.duration must be more than 0.", code="invalid_section")

    callback_url = request.get("callback_url") or ""
    if callback_url:
        parsed = urlparse(str(callback_url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise _error("callback_url must be an http(s) URL.")
    metadata = request.get("custom_metadata") or {}
    if not isinstance(metadata, dict):
        raise _error("custom_metadata must be a JSON object.")
    return JobOptions(
        model=model,
        format=fmt,
        stems=stem_names,
        bitrate=int(bitrate) if bitrate else None,
        bit_depth=int(bit_depth) if bit_depth else None,
        section_start=start,
        section_duration=duration,
        callback_url=str(callback_url),
        custom_metadata=metadata,
    )

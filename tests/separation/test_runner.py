"""Jobs run end to end in-process with the real engine: decode, separate, encode, store."""

from __future__ import annotations

import os
import wave
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from separation import audio, services
from separation.engines.spleeter import get_engine
from separation.models import Job, JobStatus
from separation.runner import run_job
from tests.audio_fixtures import synth_song, write_song

pytestmark = pytest.mark.django_db


def make_upload(workspace, tmp_path, name="song.wav", seconds=3.0, **kwargs):
    path = write_song(tmp_path / name, seconds=seconds, **kwargs)
    return services.create_upload(workspace, path, name)


def read_wav(field_file) -> tuple[np.ndarray, int]:
    with wave.open(field_file.path, "rb") as handle:
        frames = handle.readframes(handle.getnframes())
        width = handle.getsampwidth()
        rate = handle.getframerate()
        channels = handle.getnchannels()
    if width == 2:
        data = np.frombuffer(frames, "<i2").astype(np.float32) / 32768
    else:  # 24-bit
        raw = np.frombuffer(frames, np.uint8).reshape(-1, 3)
        ints = (
            raw[:, 0].astype(np.int32)
            | raw[:, 1].astype(np.int32) << 8
            | raw[:, 2].astype(np.int32) << 16
        )
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / (1 << 23)
    return data.reshape(-1, channels), rate


def decode_file(path) -> np.ndarray:
    return np.concatenate(list(audio.decode(path, audio.probe(path))))


def sdr(reference, estimate) -> float:
    noise = ((reference - estimate) ** 2).sum()
    return float(10 * np.log10((reference**2).sum() / max(noise, 1e-20)))


def test_it_writes_each_stem_as_the_engine_separates_it(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=4.0)
    job = services.create_job(workspace, upload, {"model": "spleeter:2stems"})
    assert run_job(job.id) == "completed"
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.progress == 100
    assert sorted(job.outputs.values_list("stem", flat=True)) == ["accompaniment", "vocals"]

    decoded = np.concatenate(list(audio.decode(upload.file.path, audio.probe(upload.file.path))))
    expected = get_engine("spleeter:2stems").separate(decoded)
    for output in job.outputs.all():
        samples, rate = read_wav(output.file)
        assert rate == 44100 and samples.shape == decoded.shape
        # 16-bit quantisation is the only difference.
        assert sdr(expected[output.stem], samples) > 60, output.stem
    messages = list(job.events.values_list("message", flat=True))
    assert messages[0] == "queued" and "decoding" in messages and messages[-1] == "completed"
    assert any(message.startswith("separating 1/") for message in messages)
    assert job.analysis["peaks"]["vocals"] and max(job.analysis["peaks"]["vocals"]) <= 1
    assert job.analysis["tempo"] is not None and job.analysis["key"]


def test_it_separates_mono_48k_input_and_writes_at_the_inputs_rate(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, "mono48.wav", seconds=2.0, rate=48000, channels=1)
    assert (upload.sample_rate, upload.channels) == (48000, 1)
    job = services.create_job(workspace, upload, {"format": "flac", "bit_depth": 24})
    assert run_job(job.id) == "completed"
    for output in Job.objects.get(id=job.id).outputs.all():
        info = audio.probe(output.file.path)
        assert (info.container, info.codec, info.sample_rate) == ("flac", "flac", 48000)
        assert abs(info.duration_ms - 2000) < 30


@pytest.mark.parametrize("fmt,codec,bitrate", [("mp3", "mp3", 192), ("m4a", "aac", 128)])
def test_it_encodes_lossy_formats_at_the_asked_bitrate(workspace, tmp_path, fmt, codec, bitrate):
    upload = make_upload(workspace, tmp_path, seconds=2.0)
    job = services.create_job(workspace, upload, {"format": fmt, "bitrate": bitrate})
    assert run_job(job.id) == "completed"
    output = Job.objects.get(id=job.id).outputs.get(stem="vocals")
    info = audio.probe(output.file.path)
    assert info.codec == codec
    kbps = output.size * 8 / (info.duration_ms / 1000) / 1000
    assert bitrate * 0.7 < kbps < bitrate * 1.4


def test_it_returns_a_stem_and_the_back_track_for_a_subset(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=2.0)
    job = services.create_job(workspace, upload, {"stems": ["instrumental"]})
    assert job.model == "spleeter:2stems"
    assert run_job(job.id) == "completed"
    stems = sorted(Job.objects.get(id=job.id).outputs.values_list("stem", flat=True))
    assert stems == ["back", "instrumental"]


def test_it_separates_only_the_section_asked_for(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=4.0)
    job = services.create_job(workspace, upload, {"section": {"start": 1.0, "duration": 1.5}})
    assert job.billed_seconds == 2  # 1.5 s rounded up to whole seconds
    assert run_job(job.id) == "completed"
    output = Job.objects.get(id=job.id).outputs.get(stem="vocals")
    samples, _ = read_wav(output.file)
    assert abs(len(samples) - round(1.5 * 44100)) <= 1


def test_it_does_not_run_a_job_twice(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=1.0)
    job = services.create_job(workspace, upload, {})
    assert run_job(job.id) == "completed"
    assert run_job(job.id) == "skipped"
    assert Job.objects.get(id=job.id).attempts == 1


def test_it_never_starts_a_cancelled_job(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=1.0)
    job = services.create_job(workspace, upload, {})
    services.cancel_job(job)
    assert run_job(job.id) == "skipped"
    assert Job.objects.get(id=job.id).outputs.count() == 0


def test_it_stops_a_running_job_at_the_next_chunk_when_cancelled(workspace, tmp_path, settings):
    upload = make_upload(workspace, tmp_path, seconds=30.0)
    job = services.create_job(workspace, upload, {})
    original = services.record_progress

    def cancel_after_first_chunk(job_, progress, message=None):
        original(job_, progress, message)
        if message and message.startswith("separating 1/"):
            services.cancel_job(Job.objects.get(id=job_.id))

    services.record_progress = cancel_after_first_chunk
    try:
        assert run_job(job.id) == "cancelled"
    finally:
        services.record_progress = original
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.outputs.count() == 0
    assert not any(
        m.startswith("separating 2/") for m in job.events.values_list("message", flat=True)
    )


def test_it_fails_a_job_whose_stored_file_is_corrupt_with_a_clear_error(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=2.0)
    with open(upload.file.path, "r+b") as handle:
        handle.seek(44)
        handle.truncate()
    job = services.create_job(workspace, upload, {})
    assert run_job(job.id) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error


def test_it_retries_a_job_whose_worker_died_once_then_fails_it(workspace, tmp_path, settings):
    upload = make_upload(workspace, tmp_path, seconds=1.0)
    job = services.create_job(workspace, upload, {})
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)

    # First worker claims it and dies (no more heartbeats).
    assert services.claim_job(job.id, "dead-worker-1")
    Job.objects.filter(id=job.id).update(heartbeat_at=long_ago)
    assert services.requeue_stale_jobs() == [job.id]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 1

    # Second worker dies too: no third try.
    assert services.claim_job(job.id, "dead-worker-2")
    Job.objects.filter(id=job.id).update(heartbeat_at=long_ago)
    assert services.requeue_stale_jobs() == [job.id]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert "stopped responding" in job.error


def test_it_leaves_a_job_alone_while_its_worker_sends_heartbeats(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=1.0)
    job = services.create_job(workspace, upload, {})
    services.claim_job(job.id, "live-worker")
    assert services.requeue_stale_jobs() == []
    assert Job.objects.get(id=job.id).status == JobStatus.PROCESSING


def test_it_converts_a_stem_to_another_format_once_and_keeps_it(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=1.5)
    job = services.create_job(workspace, upload, {})
    run_job(job.id)
    job.refresh_from_db()
    first = services.output_in_format(job, "vocals", "mp3")
    again = services.output_in_format(job, "vocals", "mp3")
    assert first.id == again.id and os.path.exists(first.file.path)
    assert audio.probe(first.file.path).codec == "mp3"
    assert job.outputs.filter(stem="vocals").count() == 2


def test_it_matches_the_whole_song_when_the_stems_are_summed(workspace, tmp_path):
    upload = make_upload(workspace, tmp_path, seconds=2.0)
    job = services.create_job(workspace, upload, {"bit_depth": 24})
    run_job(job.id)
    job.refresh_from_db()
    stems = [decode_file(o.file.path) for o in job.outputs.all()]
    assert all(audio.probe(o.file.path).codec == "pcm_s24le" for o in job.outputs.all())
    original = synth_song(2.0)
    assert sdr(original, sum(stems)) > 20

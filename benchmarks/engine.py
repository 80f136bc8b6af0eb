"""Speed, memory and quality of our separation against the plain `spleeter separate` command.

    .venv/bin/python benchmarks/engine.py [--long-minutes 60] [--skip-long] [--skip-stems]

Runs, on this machine and in this one run:
1. `spleeter separate -p spleeter:2stems` (Spleeter 2.4.2 in its own virtualenv with its own
   pinned dependencies, made once under var/bench/spleeter-cli) on a 3-minute WAV made of real
   music (the MUSDB excerpt in ../shared/audio, looped) — wall time and peak memory;
2. our pipeline as a warm worker runs it (benchmarks/job_run.py, one fresh process per run):
   accepted upload -> all stems encoded, and peak worker memory; on 3 minutes and on a long file;
3. throughput for 2, 4 and 5 stems (4/5-stem checkpoints generated with random weights: the same
   network, so the same cost, since real 4/5-stem weights cannot be downloaded here);
4. agreement: our 3-minute stems against the CLI's (signal-to-difference ratio per stem), and
   SDR (BSSEval v4 via museval, median over 1 s frames) of both on the real 7-second excerpt.

Writes var/bench/results.json and prints a Markdown summary for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_AUDIO = ROOT.parent / "shared" / "audio" / "musdb-sample-80s-rock.stem.mp4"
OUT = ROOT / "var" / "bench"
PY = sys.executable


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_measured(command: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    """Wall time and peak RSS (largest process in the tree) of a command."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None  # stdout=PIPE
    output = process.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{command[0]} failed ({code}):\n{output[-3000:]}")
    return {
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "output": output,
    }


def read_wav(path: Path) -> np.ndarray:
    decoded = subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", "44100", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(decoded, "<f4").reshape(-1, 2)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(44100)
        handle.writeframes(pcm.tobytes())


def make_inputs(long_minutes: int) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    inputs = {}
    if SHARED_AUDIO.exists():
        excerpt = OUT / "excerpt-mixture.wav"
        subprocess.run(
            [
                ffmpeg(),
                "-v",
                "error",
                "-y",
                "-i",
                str(SHARED_AUDIO),
                "-map",
                "0:0",
                "-ar",
                "44100",
                "-ac",
                "2",
                str(excerpt),
            ],
            check=True,
        )
        inputs["excerpt"] = excerpt
        base = read_wav(excerpt)
        source = "real music (MUSDB '80s Rock' excerpt, looped)"
    else:
        sys.path.insert(0, str(ROOT))
        from tests.audio_fixtures import synth_song

        base = synth_song(7.0)
        source = "synthetic audio (../shared/audio absent)"
    repeat = int(np.ceil(180 * 44100 / len(base)))
    three = OUT / "three-minutes.wav"
    write_wav(three, np.tile(base, (repeat, 1))[: 180 * 44100])
    inputs["three"] = three
    if long_minutes:
        long_path = OUT / f"{long_minutes}-minutes.wav"
        with wave.open(str(long_path), "wb") as handle:  # written block by block
            handle.setnchannels(2)
            handle.setsampwidth(2)
            handle.setframerate(44100)
            block = (np.clip(np.tile(base, (repeat, 1))[: 180 * 44100], -1, 1) * 32767).astype(
                "<i2"
            )
            for _ in range(long_minutes // 3):
                handle.writeframes(block.tobytes())
        inputs["long"] = long_path
    inputs["source"] = source  # type: ignore[assignment]
    return inputs


def spleeter_cli() -> Path:
    """Spleeter 2.4.2 exactly as its authors pinned it, in a virtualenv of its own."""
    venv = OUT / "spleeter-cli"
    exe = venv / "bin" / "spleeter"
    if not exe.exists():
        uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
        # --no-config: our pyproject's dependency overrides must not reach Spleeter's own pins.
        subprocess.run(
            [uv, "venv", "--no-config", "--quiet", "--python", "3.11", str(venv)],
            check=True,
            cwd="/",
        )
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--no-config",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                "spleeter==2.4.2",
            ],
            check=True,
            cwd="/",
        )
    return exe


def cli_env() -> dict:
    """The CLI calls `ffmpeg` and `ffprobe` from PATH."""
    env = {**os.environ, "MODEL_PATH": str(ROOT / "var" / "pretrained_models")}
    if not shutil.which("ffprobe"):
        raise SystemExit("`spleeter separate` needs ffprobe on PATH: apt-get install ffmpeg")
    return env


def run_cli(path: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    result = run_measured(
        [
            str(spleeter_cli()),
            "separate",
            "-p",
            "spleeter:2stems",
            "-d",
            "7200",
            "-o",
            str(out),
            str(path),
        ],
        env=cli_env(),
    )
    result.pop("output")
    return result


def run_ours(
    path: Path, model: str, label: str, model_path: Path | None = None, keep: Path | None = None
) -> dict:
    out = OUT / f"ours-{label}.json"
    env = {**os.environ}
    if model_path:
        env["MODEL_PATH"] = str(model_path)
    command = [
        PY,
        str(ROOT / "benchmarks" / "job_run.py"),
        str(path),
        "--model",
        model,
        "--out",
        str(out),
    ]
    if keep:
        command += ["--keep-outputs", str(keep)]
    measured = run_measured(command, env=env, cwd=ROOT)
    result = json.loads(out.read_text())
    if result["status"] != "completed":
        raise RuntimeError(f"our job failed: {result}")
    result["process_wall_seconds"] = measured["wall_seconds"]
    return result


def generated_models() -> Path:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsaas.settings")
    models = OUT / "models"
    for name in ("4stems", "5stems"):
        if not (models / name / "checkpoint").exists():
            script = (
                f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                "from pathlib import Path\n"
                "from tests.separation.checkpoints import generate_checkpoint\n"
                f"generate_checkpoint({name!r}, Path({str(models / name)!r}))\n"
            )
            subprocess.run([PY, "-c", script], check=True, cwd=ROOT, capture_output=True)
    if not (models / "2stems").exists():
        shutil.copytree(ROOT / "var" / "pretrained_models" / "2stems", models / "2stems")
    return models


def difference_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    n = min(len(reference), len(estimate))
    noise = ((reference[:n] - estimate[:n]) ** 2).sum()
    return round(float(10 * np.log10((reference[:n] ** 2).sum() / max(noise, 1e-20))), 1)


def museval_sdr(stems_dir: Path) -> dict:
    import museval

    references = {}
    for stream, name in ((4, "vocals"), (1, "drums"), (2, "bass"), (3, "other")):
        decoded = subprocess.run(
            [
                ffmpeg(),
                "-v",
                "error",
                "-i",
                str(SHARED_AUDIO),
                "-map",
                f"0:{stream}",
                "-f",
                "f32le",
                "-ac",
                "2",
                "-ar",
                "44100",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        references[name] = np.frombuffer(decoded, "<f4").reshape(-1, 2)
    accompaniment = references["drums"] + references["bass"] + references["other"]
    truth = np.stack([references["vocals"], accompaniment])
    estimate = np.stack(
        [read_wav(stems_dir / "vocals.wav"), read_wav(stems_dir / "accompaniment.wav")]
    )
    n = min(truth.shape[1], estimate.shape[1])
    sdr, _, _, _ = museval.evaluate(truth[:, :n], estimate[:, :n], win=44100, hop=44100)
    return {
        "vocals": round(float(np.nanmedian(sdr[0])), 2),
        "accompaniment": round(float(np.nanmedian(sdr[1])), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long-minutes", type=int, default=60)
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--skip-stems", action="store_true")
    args = parser.parse_args()

    inputs = make_inputs(0 if args.skip_long else args.long_minutes)
    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3)} GiB",
        "input": inputs.pop("source"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }

    print("1/5 spleeter separate on 3 minutes…", flush=True)
    results["cli_3min"] = run_cli(inputs["three"], OUT / "cli-3min")
    print("2/5 ours on 3 minutes…", flush=True)
    results["ours_3min"] = run_ours(
        inputs["three"], "spleeter:2stems", "3min", keep=OUT / "ours-3min-stems"
    )
    cli_dir = OUT / "cli-3min" / "three-minutes"
    results["agreement_3min_db"] = {
        stem: difference_db(
            read_wav(cli_dir / f"{stem}.wav"), read_wav(OUT / "ours-3min-stems" / f"{stem}.wav")
        )
        for stem in ("vocals", "accompaniment")
    }

    if "excerpt" in inputs:
        print("3/5 SDR on the real excerpt…", flush=True)
        run_cli(inputs["excerpt"], OUT / "cli-excerpt")
        run_ours(inputs["excerpt"], "spleeter:2stems", "excerpt", keep=OUT / "ours-excerpt-stems")
        results["sdr"] = {
            "spleeter_cli": museval_sdr(OUT / "cli-excerpt" / "excerpt-mixture"),
            "ours": museval_sdr(OUT / "ours-excerpt-stems"),
        }

    if not args.skip_stems:
        print("4/5 throughput for 4 and 5 stems…", flush=True)
        models = generated_models()
        results["ours_3min_4stems"] = run_ours(
            inputs["three"], "spleeter:4stems", "4stems", model_path=models
        )
        results["ours_3min_5stems"] = run_ours(
            inputs["three"], "spleeter:5stems", "5stems", model_path=models
        )

    if "long" in inputs:
        print(f"5/5 ours on {args.long_minutes} minutes…", flush=True)
        results["ours_long"] = run_ours(inputs["long"], "spleeter:2stems", "long")

    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(summary(results))


def summary(r: dict) -> str:
    cli, ours = r["cli_3min"], r["ours_3min"]
    lines = [
        f"Machine: {r['machine']}; input: {r['input']}; {r['date']}.",
        "",
        "| run | audio | wall time | peak memory | audio-min per wall-min |",
        "|---|---|---|---|---|",
        f"| `spleeter separate -p spleeter:2stems` (cold CLI) | 3 min | {cli['wall_seconds']} s "
        f"| {cli['peak_rss_mb']} MB | {180 / 60 / (cli['wall_seconds'] / 60):.2f} |",
    ]
    for key, label in (
        ("ours_3min", "ours, 2 stems"),
        ("ours_3min_4stems", "ours, 4 stems"),
        ("ours_3min_5stems", "ours, 5 stems"),
        ("ours_long", "ours, 2 stems"),
    ):
        if key in r:
            run = r[key]
            minutes = run["audio_seconds"] / 60
            lines.append(
                f"| {label} (warm worker) | {minutes:.0f} min | {run['job_seconds']} s "
                f"| {run['peak_rss_mb']} MB | {minutes / (run['job_seconds'] / 60):.2f} |"
            )
    lines += [
        "",
        f"3 minutes, ours / CLI wall time: {ours['job_seconds'] / cli['wall_seconds']:.2f} "
        f"(our model load, once per worker: {ours['model_load_seconds']} s; upload probe: "
        f"{ours['upload_probe_seconds']} s).",
        f"Agreement with the CLI's stems on 3 minutes (signal-to-difference): "
        f"{r['agreement_3min_db']} dB.",
    ]
    if "sdr" in r:
        lines.append(
            f"SDR on the real excerpt (museval, median of 1 s frames): "
            f"CLI {r['sdr']['spleeter_cli']}, ours {r['sdr']['ours']}."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

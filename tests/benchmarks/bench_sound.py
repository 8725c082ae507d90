"""Finishing (issues #12, #13): remixing a 20 s clip, loudness analysis, joining 4 parts' sound.

S1  Remix of a 20 s clip in-process: mix Kling's sound with the clip's own at half level,
    ducked, to −14 LUFS (measure, then gain), then remux onto the original picture — against
    the ``ffmpeg`` binary doing the same in the same run (an ``ebur128`` measuring run, then
    ``volume`` + ``amix`` + AAC with the picture copied).
S2  Loudness analysis of the 20 s result (``measure_loudness``) against
    ``ffmpeg -af ebur128 -f null -`` on the same file.
S3  Joining the sound of 4 parts of 15 s (a 60 s clip) with crossfades (no baseline).

Without ``ffmpeg`` on PATH the baseline halves are skipped with a note. Not part of CI:
``python -m tests.benchmarks.bench_sound --out /tmp/sound.json``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.common import Figure, child_args, clip, figure, skipped, write_figures

CLIP_S = 20.0


@dataclass(frozen=True)
class _Part:
    index: int
    start_s: float
    end_s: float


def _timed(action: object, repeat: int) -> list[float]:
    assert callable(action)
    action()  # warm-up: imports, page cache, FFmpeg's first open
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_remix(workdir: Path, scratch: Path, repeat: int) -> list[Figure]:
    from kling_desktop.media import finish, sound

    original = clip(workdir, "remix.mp4", CLIP_S, audio=True, tone_hz=440.0, fps=24)
    generated = clip(workdir, "kling.mp4", CLIP_S, audio=True, tone_hz=1000.0, fps=24)
    settings = sound.MixSettings(original_volume=0.5, duck=True, loudness_lufs=-14.0)

    def ours() -> None:
        own = sound.extract_audio(original, scratch / "own.wav")
        mixed = sound.mix(generated, own, scratch / "mixed.wav", settings, length_s=CLIP_S)
        finish.remux(original, mixed, scratch / "ours.sound")

    remix_ms = _timed(ours, repeat)
    result = scratch / "ours.sound.mp4"
    loudness_ms = _timed(lambda: sound.measure_loudness(result), repeat)
    ffmpeg = shutil.which("ffmpeg")
    title_remix = "Remix of a 20 s clip (mix, ducking, −14 LUFS, remux), in-process"
    title_loud = "Loudness analysis of a 20 s result (measure_loudness)"
    if ffmpeg is None:
        note = "ffmpeg is not on PATH: no same-run baseline"
        print(f"S1/S2: {note}", flush=True)
        return [
            figure("S1", title_remix, "ms", remix_ms, notes=note),
            figure("S2", title_loud, "ms", loudness_ms, notes=note),
        ]
    mix_graph = (
        "[1:a]aresample=48000,asplit=2[g][key];[0:a]aresample=48000,volume=0.5[own];"
        "[own][key]sidechaincompress=threshold=0.03:ratio=8:attack=20:release=300[ducked];"
        "[g][ducked]amix=inputs=2:normalize=0:duration=longest"
    )
    inputs = ["-i", str(original), "-i", str(generated)]

    def theirs() -> None:
        measured = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostats", *inputs, "-filter_complex",
             f"{mix_graph},ebur128[out]", "-map", "[out]", "-f", "null", "-"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = re.findall(r"I:\s+(-?[\d.]+) LUFS", measured.stderr)
        gain = -14.0 - float(found[-1])
        subprocess.run(
            [ffmpeg, "-hide_banner", "-nostats", "-y", *inputs, "-filter_complex",
             f"{mix_graph},volume={gain:.3f}dB,atrim=end={CLIP_S}[out]", "-map", "0:v",
             "-map", "[out]", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
             str(scratch / "theirs.mp4")],
            capture_output=True, check=True,
        )  # fmt: skip

    def their_loudness() -> None:
        subprocess.run(
            [ffmpeg, "-hide_banner", "-nostats", "-i", str(result), "-af", "ebur128",
             "-f", "null", "-"],
            capture_output=True, check=True,
        )  # fmt: skip

    return [
        figure(
            "S1", title_remix, "ms", remix_ms,
            baseline_title="ffmpeg: ebur128 run + amix/volume/AAC run, picture copied",
            baseline=_timed(theirs, repeat),
        ),
        figure(
            "S2", title_loud, "ms", loudness_ms,
            baseline_title="ffmpeg -af ebur128 -f null -", baseline=_timed(their_loudness, repeat),
        ),
    ]  # fmt: skip


def bench_join(workdir: Path, scratch: Path, repeat: int) -> Figure:
    from kling_desktop.media import finish

    pieces = [
        (
            clip(workdir, f"part{i}.mp4", 15.2, audio=True, tone_hz=600.0 + 200 * i),
            _Part(i, 15.0 * i, 15.0 * (i + 1)),
        )
        for i in range(4)
    ]
    times = _timed(lambda: finish.join_sound(pieces, scratch / "joined.wav", total_s=60.0), repeat)
    return figure(
        "S3",
        "Joining the sound of 4 parts (60 s clip, 0.2 s crossfades)",
        "ms",
        times,
        notes="decode 4 Kling MP4s, place, crossfade, write a float WAV",
    )


def main(argv: list[str] | None = None) -> int:
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 7
    scratch = Path(tempfile.mkdtemp(prefix="bench-sound-"))
    figures: list[Figure] = []
    try:
        try:
            figures += bench_remix(args.workdir, scratch, repeat)
        except Exception as exc:  # one failing half must not hide the other figures
            figures.append(skipped("S1", "Remix of a 20 s clip", f"failed: {exc}"))
        figures.append(bench_join(args.workdir, scratch, repeat))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for fig in figures:
        ratio = f"  (same-run ratio {fig.ratio:.2f} of {fig.baseline_title})" if fig.ratio else ""
        print(f"{fig.key} {fig.title}: median {fig.value.median:.0f} ms{ratio}", flush=True)
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

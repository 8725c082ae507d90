"""Preparing a long clip: a 60 s 1080p H.264 clip made into Kling's upload files.

8a  plan_clip() (probe excluded): the keyframe scan that places the cuts.
8b  plan_clip() + prepare_part() for every part (stream copy on keyframes), in-process with
    PyAV, against the ``ffmpeg`` binary making the same parts at the same cuts
    (``-ss S -to E -c copy -movflags +faststart``), each a median over repeated runs in the
    same process. Skipped with a note when ``ffmpeg`` is not on PATH.

Not part of ``run.py``'s default list nor of CI: ``python -m tests.benchmarks.bench_prepare
--out prepare.json``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.common import Figure, child_args, clip, figure, skipped, write_figures


def clip_60s_1080p(workdir: Path) -> Path:
    return clip(
        workdir,
        "p1080.mp4",
        60.0,
        width=1920,
        height=1080,
        fps=24,
        audio=True,
        keyframe_every_s=2.0,
    )


def bench(path: Path, workdir: Path, repeat: int) -> list[Figure]:
    from kling_desktop.media.prepare import plan_clip, prepare_part
    from kling_desktop.media.probe import probe

    found = probe(path)
    out = workdir / "prepare-out"
    plan = plan_clip(path, found)  # warm-up
    assert plan.ok and plan.copy_video, plan
    planning, ours = [], []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        plan = plan_clip(path, found)
        planned = time.perf_counter()
        for part in plan.parts:
            prepare_part(path, plan, part, out / f"part{part.index}.mp4")
        ours.append((time.perf_counter() - started) * 1000)
        planning.append((planned - started) * 1000)
    figures = [
        figure(
            "8a",
            "Plan a 60 s 1080p clip (keyframe scan)",
            "ms",
            planning,
            extra={"bytes": path.stat().st_size, "parts": plan.paid_jobs},
        )
    ]
    title = "Prepare a 60 s 1080p clip: plan + stream-copied parts (in-process)"
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("bench_prepare: ffmpeg is not on PATH; the same-run baseline is skipped.")
        figures.append(figure("8b", title, "ms", ours, notes="ffmpeg not on PATH: no ratio"))
        figures.append(skipped("8c", "ffmpeg -c copy, the same cuts", "ffmpeg is not on PATH"))
        return figures
    theirs = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        for part in plan.parts:
            command = [
                ffmpeg, "-v", "error", "-y", "-ss", f"{part.start_s:.6f}",
                "-to", f"{part.end_s:.6f}", "-i", str(path), "-c", "copy",
                "-movflags", "+faststart", str(out / f"ff{part.index}.mp4"),
            ]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True)
        theirs.append((time.perf_counter() - started) * 1000)
    fig = figure(
        "8b",
        title,
        "ms",
        ours,
        baseline_title="ffmpeg -ss/-to -c copy +faststart, same cuts",
        baseline=theirs,
        extra={"bytes": path.stat().st_size},
    )
    print(f"bench_prepare: ours {fig.value.median:.0f} ms, ffmpeg {fig.baseline.median:.0f} ms, "  # type: ignore[union-attr]
          f"ratio {fig.ratio:.2f} (same run)")  # fmt: skip
    figures.append(fig)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 7
    path = clip_60s_1080p(args.workdir)
    write_figures(args.out, bench(path, args.workdir, repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())

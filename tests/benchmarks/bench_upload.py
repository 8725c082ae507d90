"""3. Upload of a ~100 MB clip to the simulator (its own process) over loopback.

3a  KlingClient.upload throughput, each run in a fresh interpreter, against
    ``curl --data-binary @file`` to the same endpoint with the same headers. Goal: ≥ 0.8 of curl.
3b  The uploading process's peak memory growth (VmHWM after − before the upload, same fresh
    interpreter). Goal: ≤ 30 MB — the file is streamed, not held. Baseline: curl's peak RSS
    (``--data-binary @file`` reads the whole file into memory first).

The clip is a real 20 s 1080p clip padded to 99,000,000 bytes with a trailing top-level ``free``
box, so the simulator (limit 100,000,000 bytes, as useapi.net) accepts it as a whole, valid MP4.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.common import (
    DEMO_EMAIL,
    REPO,
    child_args,
    clip,
    figure,
    mb,
    megabytes,
    padded_clip,
    simulator_process,
    write_figures,
)

SIZE = 99_000_000  # under useapi.net's limit of 100,000,000 bytes (the simulator's too)
TOKEN_ENV = "KLING_BENCH_TOKEN"


def child(url: str, path: str) -> int:
    """In a fresh interpreter: one upload, timed, with VmHWM before and after."""
    from kling_desktop.api.client import KlingClient
    from tests.benchmarks.common import proc_status

    client = KlingClient(url, os.environ[TOKEN_ENV], timeout=120.0)
    client.list_accounts()  # connection, imports and JSON decoding warmed up
    before = proc_status("VmHWM")
    rss_before = proc_status("VmRSS")
    started = time.perf_counter()
    result = client.upload(Path(path), email=DEMO_EMAIL)
    seconds = time.perf_counter() - started
    after = proc_status("VmHWM")
    client.close()
    print(json.dumps({"seconds": seconds, "hwm_before": before, "hwm_after": after,
                      "rss_before": rss_before, "url": result.url}))  # fmt: skip
    return 0


def curl_upload(curl: str, url: str, path: Path, token: str) -> tuple[float, int]:
    """(seconds of the transfer, curl's peak RSS in bytes)."""
    command = [
        curl, "-sS", "--fail", "-o", "/dev/null", "-w", "%{time_total}",
        "-X", "POST", "--data-binary", f"@{path}",
        "-H", f"Authorization: Bearer {token}", "-H", "Accept: application/json",
        "-H", "Content-Type: video/mp4", f"{url}/assets/?email={DEMO_EMAIL}",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"curl failed: {err}")
    return float(out.strip().replace(",", ".")), usage.ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) >= 2 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3])
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 5
    from kling_desktop.simulator import DEMO_TOKEN

    source = clip(args.workdir, "c1080.mp4", 20.0, width=1920, height=1080, fps=24, audio=True)
    big = padded_clip(source, args.workdir / "clips" / "upload-99MB.mp4", SIZE)
    curl = shutil.which("curl")
    sim_dir = args.workdir / "sim-upload"
    ours_mbps, theirs_mbps, growth, curl_rss = [], [], [], []
    env = dict(os.environ, **{TOKEN_ENV: DEMO_TOKEN})
    with simulator_process(sim_dir, task_seconds=3.0) as url:
        for _ in range(repeat):
            done = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.bench_upload", "--child", url, str(big)],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            data = json.loads(done.stdout.strip().splitlines()[-1])
            ours_mbps.append(mb(SIZE) / data["seconds"])
            growth.append(megabytes(data["hwm_after"] - data["hwm_before"]))
            if curl is not None:
                seconds, rss = curl_upload(curl, url, big, DEMO_TOKEN)
                theirs_mbps.append(mb(SIZE) / seconds)
                curl_rss.append(megabytes(rss))
            for stale in (sim_dir / "uploads").glob("*"):
                stale.unlink(missing_ok=True)  # keep the disk from filling up
    notes = (
        f"{SIZE / 1e6:.0f} MB ({mb(SIZE):.1f} MiB) valid MP4 (1080p clip + trailing free box), "
        "loopback"
    )
    figures = [
        figure(
            "3a",
            "Upload 99 MB: KlingClient.upload throughput",
            "MiB/s",
            ours_mbps,
            baseline_title="curl --data-binary",
            baseline=theirs_mbps or None,
            goal=("ratio>=", 0.8),
            notes=notes,
        ),
        figure(
            "3b",
            "Upload 99 MB: peak memory growth of the uploading process",
            "MB",
            growth,
            baseline_title="curl's peak RSS",
            baseline=curl_rss or None,
            goal=("abs<=", 30.0),
            notes="VmHWM after − before client.upload() in a fresh interpreter",
        ),
    ]
    if curl is None:
        figures[0].notes += "; curl is not installed, so no baseline"
        figures[0].met = None
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)

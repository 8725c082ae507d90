"""7. The frozen app: one-folder bundle size, and its start-up against the source start-up.

The bundle is ``$KLING_BENCH_BUNDLE`` if set, else ``build/linux/bundle/kling-desktop`` (what
``packaging/build_linux.sh`` leaves), else the newest ``dist/kling-desktop-*-linux-x86_64.tar.gz``
unpacked into the work folder.

Nothing can be injected into a frozen binary, so both starts are timed from outside, the same
way: Qt's own ``qt.widgets.painting`` log category is switched on and the first "Flushing top
level" line (the first frame of a top-level window reaching the backing store) is stamped
with ``%{time boot}`` (CLOCK_MONOTONIC on Linux, as ``time.monotonic`` in this process).

7a  du -sb of the bundle folder. Baseline: PySide6 + shiboken6 + PyAV as installed in the venv.
7b  Frozen start to the first painted window (offscreen). Baseline: ``python -m kling_desktop``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tests.benchmarks.common import (
    REPO,
    Figure,
    child_args,
    figure,
    isolated_env,
    mb,
    skipped,
    write_figures,
)

FLUSH = re.compile(r"^\s*(\d+\.\d+) qt\.widgets\.painting Flushing top level")


def find_bundle(workdir: Path) -> tuple[Path | None, str]:
    given = os.environ.get("KLING_BENCH_BUNDLE")
    if given:
        return Path(given), "KLING_BENCH_BUNDLE"
    built = REPO / "build" / "linux" / "bundle" / "kling-desktop"
    if (built / "kling-desktop").is_file():
        # Copy it: the packaging build replaces that folder while it runs.
        target = workdir / "frozen" / "bundle"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built, target, symlinks=True)
        return target, str(built.relative_to(REPO))
    archives = sorted(
        (REPO / "dist").glob("kling-desktop-*-linux-x86_64.tar.gz"), key=lambda p: p.stat().st_mtime
    )
    if not archives:
        return None, "no bundle: run packaging/build_linux.sh"
    target = workdir / "frozen" / "unpacked"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(archives[-1]) as tar:
        tar.extractall(target, filter="data")
    exe = next(target.rglob("kling-desktop"), None)
    while exe is not None and not (exe.is_file() and os.access(exe, os.X_OK)):
        exe = next((p for p in exe.rglob("kling-desktop") if p.is_file()), None)
    if exe is None:
        return None, f"no kling-desktop executable in {archives[-1].name}"
    return exe.parent, str(archives[-1].relative_to(REPO))


def du_bytes(path: Path) -> int:
    done = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def first_flush(command: list[str], env: dict[str, str]) -> float:
    """ms from spawn to Qt's first top-level flush; the process is then stopped."""
    env = dict(env)
    env["QT_LOGGING_RULES"] = "qt.widgets.painting=true;qt.multimedia.*=false"
    env["QT_MESSAGE_PATTERN"] = "%{time boot} %{category} %{message}"
    spawned = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stamp = None
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            match = FLUSH.match(line)
            if match:
                stamp = float(match.group(1))
                break
            if time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    if stamp is None:
        raise RuntimeError(f"no first paint seen from {command[0]}")
    return (stamp - spawned) * 1000


def site_size() -> int:
    import av
    import PySide6
    import shiboken6

    return sum(du_bytes(Path(m.__file__).parent) for m in (PySide6, shiboken6, av))


def main(argv: list[str] | None = None) -> int:
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 8
    built = REPO / "build" / "linux" / "bundle" / "kling-desktop" / "kling-desktop"
    built_at = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(built.stat().st_mtime))
        if built.is_file()
        else "unknown"
    )
    bundle, origin = find_bundle(args.workdir)
    if bundle is None:
        write_figures(args.out, [skipped("7", "Frozen app", origin)])
        return 0
    figures: list[Figure] = [
        figure(
            "7a",
            "Frozen one-folder bundle size (du -sb)",
            "MiB",
            [mb(du_bytes(bundle))],
            baseline_title="PySide6 + shiboken6 + PyAV in the venv",
            baseline=[mb(site_size())],
            notes=f"from {origin}, built {built_at}: it runs the code of that moment, which may "
            "be older than the source it is compared with",
        )
    ]
    home = Path(tempfile.mkdtemp(prefix="frozen-", dir=args.workdir))
    try:
        frozen_cmd = [str(bundle / "kling-desktop")]
        source_cmd = [sys.executable, "-m", "kling_desktop"]
        envs = {k: isolated_env(home / k, QT_QPA_PLATFORM="offscreen") for k in ("f", "s")}
        for env in envs.values():
            env.pop("PYTHON_KEYRING_BACKEND", None)
        first_flush(frozen_cmd, envs["f"])  # warm-up: page cache for 300 MB of libraries
        first_flush(source_cmd, envs["s"])
        frozen, source = [], []
        for _ in range(repeat):
            frozen.append(first_flush(frozen_cmd, envs["f"]))
            source.append(first_flush(source_cmd, envs["s"]))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    figures.append(
        figure(
            "7b",
            "Frozen start to first painted window (offscreen)",
            "ms",
            frozen,
            baseline_title="python -m kling_desktop (source)",
            baseline=source,
            notes="both timed from outside by Qt's first top-level flush (qt.widgets.painting)",
        )
    )
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

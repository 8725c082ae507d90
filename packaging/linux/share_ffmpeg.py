"""Make PyAV use Qt's FFmpeg inside a frozen Linux bundle, and drop PyAV's own copy.

The PyAV wheel and PySide6 each ship a full FFmpeg. Qt's (libavcodec 63 / libavformat 63 /
libavutil 61 / libswscale 10 / libswresample 7) has the same library majors as PyAV's, so the
ABI is the same; PyAV's copy also drags in x264, x265, SVT-AV1, dav1d, vpx and friends
(~80 MiB) that the app never needs in the bundle. This rewrites the NEEDED entries of PyAV's
modules (and of the libavfilter/libavdevice only PyAV has) to Qt's libraries, points their
runpaths there, and deletes what nothing needs any more. The frozen self-test then proves
probing, thumbnails, clip making and playback still work.

Usage: python share_ffmpeg.py BUNDLE_INTERNAL_DIR PATCHELF
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# PyAV's auditwheel-mangled names -> the library Qt ships (by SONAME stem).
SHARED = {
    "libavcodec": "libavcodec.so.63",
    "libavformat": "libavformat.so.63",
    "libavutil": "libavutil.so.61",
    "libswscale": "libswscale.so.10",
    "libswresample": "libswresample.so.7",
}
# libxcb copies inside av.libs are padded to 6 MB each; the system's are the same libraries
# (Qt's xcb platform and Qt's FFmpeg already load the system's libxcb and libdrm).
SYSTEM = {
    "libdrm": "libdrm.so.2",
    "libxcb": "libxcb.so.1",
    "libxcb-shm": "libxcb-shm.so.0",
    "libxcb-shape": "libxcb-shape.so.0",
    "libxcb-xfixes": "libxcb-xfixes.so.0",
}
AMF_SHIM = "libkling-amf-shim.so"
_MANGLED = re.compile(r"^(lib[\w+-]+?)-[0-9a-f]{8}\.so[.\d]*$")


def _origin(folder: Path, start: Path) -> str:
    rel = os.path.relpath(folder, start)
    return "$ORIGIN" if rel == "." else f"$ORIGIN/{rel}"


def build_amf_shim(av_libs: Path) -> None:
    """Qt's libavutil is built without AMD AMF; PyAV's libavfilter still names six AMF
    helpers (only its AMF hardware filters call them). Provide them as "not supported"."""
    here = Path(__file__).resolve().parent
    subprocess.run(
        [
            os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2",
            f"-Wl,--version-script={here / 'amf_shim.map'}",
            f"-Wl,-soname,{AMF_SHIM}", "-o", str(av_libs / AMF_SHIM), str(here / "amf_shim.c"),
        ],
        check=True,
    )  # fmt: skip
    # PyInstaller links every av.libs library into the bundle root too, and the loader finds
    # them there first ($ORIGIN then means the root): do the same for the shim.
    link = av_libs.parent / AMF_SHIM
    link.unlink(missing_ok=True)
    link.symlink_to(Path(av_libs.name) / AMF_SHIM)


def needed(patchelf: str, elf: Path) -> list[str]:
    out = subprocess.run(
        [patchelf, "--print-needed", str(elf)], check=True, capture_output=True, text=True
    )
    return out.stdout.split()


def stem(name: str) -> str | None:
    m = _MANGLED.match(name)
    return m.group(1) if m else None


def main(internal: Path, patchelf: str) -> int:
    av_libs = internal / "av.libs"
    qt_lib = internal / "PySide6" / "Qt" / "lib"
    missing = [n for n in SHARED.values() if not (qt_lib / n).exists()]
    if not av_libs.is_dir() or missing:
        print(f"share_ffmpeg: nothing to do ({missing or 'no av.libs'})")
        return 0
    build_amf_shim(av_libs)
    replace = {**SHARED, **SYSTEM}
    patched = [*sorted((internal / "av").rglob("*.so"))]
    patched += [p for p in av_libs.iterdir() if stem(p.name) in ("libavfilter", "libavdevice")]
    for elf in patched:
        args = []
        for name in needed(patchelf, elf):
            key = stem(name)
            if key in replace:
                args += ["--replace-needed", name, replace[key]]
        if stem(elf.name) == "libavfilter":
            args += ["--add-needed", AMF_SHIM]
        rpath = ":".join(_origin(folder, elf.parent) for folder in (av_libs, qt_lib))
        subprocess.run([patchelf, *args, "--set-rpath", rpath, str(elf)], check=True)
    # Keep only what the patched files still need, transitively, inside av.libs.
    keep: set[str] = set()
    todo = [n for elf in patched for n in needed(patchelf, elf)]
    while todo:
        name = todo.pop()
        if name in keep or not (av_libs / name).exists():
            continue
        keep.add(name)
        todo += needed(patchelf, av_libs / name)
    freed = 0
    for lib in sorted(av_libs.iterdir()):
        if lib.name not in keep:
            freed += lib.stat().st_size
            lib.unlink()
            link = internal / lib.name
            if link.is_symlink():
                link.unlink()
    print(f"share_ffmpeg: PyAV now uses Qt's FFmpeg; removed {freed / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))

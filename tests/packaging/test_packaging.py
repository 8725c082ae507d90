"""Fast checks of the packaging files: nothing here builds a bundle (that is
packaging/build_linux.sh + packaging/test_linux_packages.sh, run by CI)."""

from __future__ import annotations

import ast
import plistlib
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kling_desktop import APP_ID, __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "resources"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- resources ------------------------------------------------------------------------------


def test_desktop_entry_validates() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    result = subprocess.run(
        [tool, str(RESOURCES / f"{APP_ID}.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""  # not even a hint


def test_desktop_entry_opens_mp4_and_mov_with_files() -> None:
    entry = (RESOURCES / f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines()
    assert "MimeType=video/mp4;video/quicktime;" in entry
    assert "Exec=kling-desktop %F" in entry
    assert f"Icon={APP_ID}" in entry


def test_icons_are_rendered_at_every_size() -> None:
    for size in ICON_SIZES:
        png = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / f"{APP_ID}.png"
        assert _png_size(png.read_bytes()) == (size, size), png


def test_ico_holds_png_entries_up_to_256() -> None:
    data = (RESOURCES / "icons" / f"{APP_ID}.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for index in range(count):
        width, _h, _c, _r, _planes, _bpp, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        assert _png_size(data[offset : offset + length])[0] == (width or 256)
        sizes.add(width or 256)
    assert {16, 32, 48, 256} <= sizes


def test_icns_holds_a_1024_px_image() -> None:
    data = (RESOURCES / "icons" / f"{APP_ID}.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found: dict[bytes, tuple[int, int]] = {}
    offset = 8
    while offset < len(data):
        kind, length = (
            data[offset : offset + 4],
            struct.unpack(">I", data[offset + 4 : offset + 8])[0],
        )
        found[kind] = _png_size(data[offset + 8 : offset + length])
        offset += length
    assert found[b"ic10"] == (1024, 1024)
    assert found[b"icp4"] == (16, 16)


def test_metainfo_names_the_desktop_file_and_mime_types() -> None:
    text = (RESOURCES / "io.github.kling_desktop.metainfo.xml").read_text(encoding="utf-8")
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in text
    assert "<mediatype>video/mp4</mediatype>" in text
    assert "<mediatype>video/quicktime</mediatype>" in text


# -- the resource helper --------------------------------------------------------------------


def test_resource_helper_finds_the_checkout_resources() -> None:
    from kling_desktop.resources import resource_path, resources_root

    assert resources_root() == RESOURCES
    assert resource_path("icons", f"{APP_ID}.svg").is_file()


def test_resource_helper_stays_qt_free_at_import() -> None:
    code = (
        "import sys, kling_desktop.resources; "
        "print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_app_icon_has_every_size(qapp: Any) -> None:
    from kling_desktop.resources import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= {16, 32, 256}


def test_unknown_icon_is_null_not_an_error(qapp: Any) -> None:
    from kling_desktop.resources import icon

    assert icon("no-such-icon").isNull()


def test_nothing_else_looks_at_meipass() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "kling_desktop").rglob("*.py")
        if "_MEIPASS" in path.read_text(encoding="utf-8")
    ]
    assert users == ["kling_desktop/resources.py"]


# -- Windows version resource -------------------------------------------------------------------


def _load_make_version_info() -> Any:
    sys.path.insert(0, str(PACKAGING / "windows"))
    try:
        import make_version_info
    finally:
        sys.path.remove(str(PACKAGING / "windows"))
    return make_version_info


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2.3rc1", (1, 2, 3, 0)),
        ("2.0", (2, 0, 0, 0)),
        ("3", (3, 0, 0, 0)),
    ],
)
def test_version_tuple(version: str, expected: tuple[int, ...]) -> None:
    assert _load_make_version_info().version_tuple(version) == expected


def test_version_resource_carries_the_one_version(tmp_path: Path) -> None:
    module = _load_make_version_info()
    out = module.write_version_file(tmp_path / "version_info.txt")
    text = out.read_text(encoding="utf-8")
    # PyInstaller evaluates the file as a Python expression over its versioninfo classes.
    calls: dict[str, list[tuple[Any, ...]]] = {}

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
            calls.setdefault(name, []).append(args + tuple(kwargs.items()))
            return (name, args, kwargs)

        return record

    names = ["VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct"]
    names += ["VarFileInfo", "VarStruct"]
    tree = eval(
        compile(ast.parse(text, mode="eval"), str(out), "eval"), {n: recorder(n) for n in names}
    )
    assert tree[0] == "VSVersionInfo"
    strings = {args[0]: args[1] for args in calls["StringStruct"]}
    assert strings["ProductVersion"] == __version__
    assert strings["FileVersion"] == __version__
    assert strings["OriginalFilename"] == f"{APP_ID}.exe"
    fixed = dict(calls["FixedFileInfo"][0])
    assert fixed["filevers"] == module.version_tuple(__version__)


def test_make_version_info_runs_as_a_script(tmp_path: Path) -> None:
    out = tmp_path / "vi.txt"
    script = PACKAGING / "windows" / "make_version_info.py"
    result = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"StringStruct('ProductVersion', '{__version__}')" in out.read_text(encoding="utf-8")


# -- spec, installers, scripts --------------------------------------------------------------------


def test_spec_reads_the_one_version_and_keeps_qml_quick() -> None:
    spec = (PACKAGING / "kling_desktop.spec").read_text(encoding="utf-8")
    compile(spec, "kling_desktop.spec", "exec")
    assert "from kling_desktop import APP_ID, APP_NAME, __version__" in spec
    assert re.search(r'"CFBundleShortVersionString": __version__', spec)
    assert 'copy_metadata("keyring")' in spec
    assert "public.mpeg-4" in spec and "com.apple.quicktime-movie" in spec
    drops = re.search(r"_DROP = \[(.*?)\n\]", spec, re.S)
    assert drops is not None
    assert "Qml" not in drops.group(1) and 'Quick"' not in drops.group(1)


def test_inno_setup_script_is_per_user_with_open_with() -> None:
    iss = (PACKAGING / "windows" / "kling-desktop.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss
    assert "PrivilegesRequiredOverridesAllowed=dialog" in iss
    assert r"Software\Classes\.mp4\OpenWithProgids" in iss
    assert r"Software\Classes\.mov\OpenWithProgids" in iss
    assert r"Software\Classes\Applications\{#AppExe}" in iss
    assert "AppVersion={#AppVersion}" in iss
    assert "desktopicon" in iss
    # No second version source: the version only ever arrives as a define.
    assert __version__ not in iss
    assert (
        (PACKAGING / "windows" / "kling-desktop.iss")
        .parent.joinpath("..", "..", "resources", "icons", f"{APP_ID}.ico")
        .resolve()
        .is_file()
    )


def test_macos_entitlements_grant_no_camera_or_microphone() -> None:
    data = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert not [
        key for key in data if "camera" in key or "microphone" in key or "audio-input" in key
    ]


def test_sign_and_notarize_skips_without_credentials(tmp_path: Path) -> None:
    app = tmp_path / "Kling Desktop.app"
    app.mkdir()
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(PACKAGING / "macos" / "sign_and_notarize.sh"), str(app)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped: no credentials" in result.stdout


@pytest.mark.parametrize(
    "script",
    [
        "packaging/build_linux.sh",
        "packaging/test_linux_packages.sh",
        "packaging/linux/install-desktop-entry.sh",
        "packaging/linux/kling-desktop.sh",
        "packaging/macos/build.sh",
        "packaging/macos/make_dmg.sh",
        "packaging/macos/sign_and_notarize.sh",
    ],
)
def test_shell_scripts_parse_and_are_executable(script: str) -> None:
    path = ROOT / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_debian_control_template_has_every_placeholder() -> None:
    control = (PACKAGING / "linux" / "control.in").read_text(encoding="utf-8")
    for placeholder in ("@DEB_VERSION@", "@ARCH@", "@INSTALLED_SIZE@", "@GLIBC_MIN@"):
        assert placeholder in control
    depends = next(line for line in control.splitlines() if line.startswith("Depends:"))
    for package in ("libpulse0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libegl1"):
        assert package in depends


# -- the release workflow -----------------------------------------------------------------------


def _workflow() -> dict[Any, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is a test dependency (pip install pyyaml)")
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _run_commands(data: dict[Any, Any]) -> list[str]:
    return [
        step["run"]
        for job in data["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def test_workflow_builds_on_three_systems() -> None:
    data = _workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "tags" in triggers["push"]
    include = data["jobs"]["build"]["strategy"]["matrix"]["include"]
    systems = {entry["os"].split("-")[0] for entry in include}
    assert systems == {"ubuntu", "windows", "macos"}
    release = data["jobs"]["release"]
    assert release["needs"] == "build"
    assert "refs/tags/" in release["if"]


def test_workflow_installs_with_test_and_build_extras_on_python_312() -> None:
    data = _workflow()
    steps = data["jobs"]["build"]["steps"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.12"
    assert any('pip install ".[test,build]"' in run for run in _run_commands(data))
    assert any("pytest" in run for run in _run_commands(data))
    assert any(
        "--self-test" in run or "selftest.ps1" in run or "test_linux_packages.sh" in run
        for run in _run_commands(data)
    )


def test_every_script_the_workflow_runs_exists() -> None:
    referenced = set()
    for run in _run_commands(_workflow()):
        referenced.update(re.findall(r"(?:\./)?((?:packaging|scripts)/[\w./-]+)", run))
    assert referenced, "the workflow runs no packaging script"
    missing = sorted(path for path in referenced if not (ROOT / path).is_file())
    assert missing == []
    expected = {
        "packaging/build_linux.sh",
        "packaging/test_linux_packages.sh",
        "packaging/windows/build.ps1",
        "packaging/windows/selftest.ps1",
        "packaging/macos/build.sh",
    }
    assert expected <= referenced

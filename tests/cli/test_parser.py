"""The one command-line tree (``kling_desktop.cli.parser``), parsed in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_desktop.cli.parser import COMMANDS, WINDOW, parse


def test_help_shows_the_window_the_self_test_and_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["-h"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: kling-desktop [-h] [--version] [--demo] [FILE ...]")
    for option in ("--demo", "FILE", "clips or folders to open", "--self-test", "--launch-mode"):
        assert option in text
    for command, help_text in COMMANDS.items():
        assert f"  {command:<12}{help_text}" in text
    assert "--resubmit" in text and "--resend" in text  # what may pay


def test_the_window_takes_files_options_and_leaves_qt_its_own() -> None:
    args, qt_args = parse(["--demo", "-reverse", "a.mp4", "b dir"])
    assert args.command == WINDOW
    assert args.demo and not args.self_test and not args.launch_mode
    assert args.files == [Path("a.mp4"), Path("b dir")]
    assert qt_args == ["-reverse"]
    assert parse(["a.mp4", "--demo"])[0].demo
    nothing, _ = parse([])
    assert (nothing.command, nothing.files, nothing.demo) == (WINDOW, [], False)


def test_self_test_and_launch_mode() -> None:
    args, _ = parse(["--self-test", "--timeout", "30", "--report", "r.json", "--skip-job"])
    assert (args.self_test, args.timeout, args.report, args.skip_job) == (
        True,
        30.0,
        Path("r.json"),
        True,
    )
    assert parse(["--self-test"])[0].timeout is None  # the self-test's own default
    assert parse(["--launch-mode"])[0].launch_mode


def test_self_test_options_alone_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["--report", "r.json", "clip.mp4"])
    assert exited.value.code == 2
    assert "go with --self-test" in capsys.readouterr().err


def test_commands_come_first_and_take_only_their_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args, rest = parse(["check", "--json", "a.mp4"])
    assert (args.command, args.json, args.files, rest) == ("check", True, ["a.mp4"], [])
    args, _ = parse(["resolve", "7", "--found", "42"])
    assert (args.command, args.job_id, args.found, args.resend) == ("resolve", 7, 42, False)
    with pytest.raises(SystemExit) as exited:
        parse(["jobs", "--demo"])
    assert exited.value.code == 2
    # A command's name after the window's options is a file to open, as it always was.
    assert parse(["--demo", "check"])[0].files == [Path("check")]


def test_the_simulator_mounts_its_own_options() -> None:
    args, _ = parse(
        ["simulator", "--port", "8123", "--account", "a@example.com:2", "--scenario", "poll_404=1"]
    )
    assert args.command == "simulator"
    assert (args.port, args.account, args.scenario) == (
        8123,
        ["a@example.com:2"],
        [("poll_404", True)],
    )

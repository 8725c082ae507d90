from pathlib import Path

import av

import kling_desktop
from kling_desktop.paths import app_paths
from kling_desktop.settings import Settings


def test_version_is_single_source() -> None:
    assert kling_desktop.__version__.count(".") == 2


def test_paths_follow_kling_desktop_home(app_home: Path) -> None:
    paths = app_paths()
    assert paths.database.is_relative_to(app_home)
    assert paths.log_dir.is_relative_to(app_home)


def test_settings_round_trip_and_refuse_token(app_home: Path) -> None:
    path = app_paths().settings_file
    settings = Settings.load(path)
    settings.poll_interval_s = 7.5
    settings.save(path)
    assert Settings.load(path).poll_interval_s == 7.5
    settings.default_email = "user:123-abcdef"
    try:
        settings.save(path)
    except ValueError:
        pass
    else:
        raise AssertionError("a token-shaped value was written to settings")


def test_clip_factory_makes_real_clip(clip: Path) -> None:
    with av.open(str(clip)) as container:
        assert container.streams.video
        assert abs(container.duration / 1e6 - 4.0) < 0.05

"""The settings model: layers, errors that name the setting and its source, and one declaration per setting."""

from __future__ import annotations

import argparse
import re

import pytest

from appliance.cli import build_parser
from appliance.cli.config import markdown_table
from appliance.settings import ConfigError, env_name, flag_name, load, resolve, setting_index
from appliance.settings.model import SECTIONS, is_secret
from tests.conftest import REPO

# The names that worked before the settings model: environment, TOML keys and flags must keep working.
LEGACY = [
    *("backend", "fps", "min_face", "margin", "all_crops", "aligned", "threads", "enhance", "upscale", "motion"),
    *("data", "inbox", "outbox", "state", "workers", "polling", "settle_s", "scan_interval_s", "log_level"),
    *("host", "port", "token", "retention_outbox_days", "retention_outbox_gb", "retention_done_days"),
]


def test_layers_defaults_file_environment_flags(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text('min_face = 30\nfps = "2"\nworkers = 2\n[motion]\nrefresh_s = 60\n')
    resolved = resolve(config, flags={"workers": 3}, environ={"APPLIANCE_FPS": "all", "APPLIANCE_MIN_FACE": "40"})
    s = resolved.settings
    assert (s.extract.min_face, s.extract.fps, s.service.workers, s.motion.refresh_s) == (40.0, None, 3, 60.0)
    assert resolved.origins["min_face"] == "APPLIANCE_MIN_FACE"
    assert resolved.origins["workers"] == "--workers"
    assert resolved.origins["motion_refresh_s"] == f"file {config}"
    assert resolved.origins["margin"] == "default"


def test_the_config_file_may_come_from_the_environment_and_an_appliance_table(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text("[appliance]\nretention-done-days = 7\n")
    s = load(environ={"APPLIANCE_CONFIG": str(config)})
    assert s.retention.done_days == 7


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ({"flags": {"min_face": 8}}, "setting 'min_face' from --min-face: input should be greater than or equal to 12"),
        ({"environ": {"APPLIANCE_WORKERS": "many"}}, "setting 'workers' from APPLIANCE_WORKERS: input should be a"),
        ({"environ": {"APPLIANCE_ENHANCE": "bright"}}, "setting 'enhance' from APPLIANCE_ENHANCE: input should be"),
        ({"environ": {"APPLIANCE_PORT": "70000"}}, "setting 'port' from APPLIANCE_PORT: input should be less than"),
        ({"environ": {"APPLIANCE_FPS": "-1"}}, "setting 'fps' from APPLIANCE_FPS: input should be greater than 0"),
        ({"environ": {"APPLIANCE_UPSCALE": "9"}}, "setting 'upscale' from APPLIANCE_UPSCALE: input should be less"),
        ({"environ": {"APPLIANCE_LOG_LEVEL": "loud"}}, "setting 'log_level' from APPLIANCE_LOG_LEVEL: input should"),
    ],
)
def test_an_invalid_value_names_the_setting_and_where_it_came_from(layers, message):
    with pytest.raises(ConfigError) as raised:
        load(**{"environ": {}, **layers})
    assert str(raised.value).startswith(message)


def test_unknown_and_unreadable_config_files(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text("minface = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'minface'"):
        load(config, environ={})
    config.write_text("[extract]\nmotion = false\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'motion' in \[extract\]"):
        load(config, environ={})
    config.write_text("min_face = [\n")
    with pytest.raises(ConfigError, match="appliance.toml"):
        load(config, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.toml", environ={})


def test_token_is_required_off_loopback_only_when_serving():
    with pytest.raises(ConfigError, match="setting 'token': required when binding to '0.0.0.0'"):
        load(flags={"host": "0.0.0.0"}, environ={}, serving=True)
    assert load(flags={"host": "0.0.0.0"}, environ={}).web.host == "0.0.0.0"  # extract serves nothing
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert load(flags={"host": host}, environ={}, serving=True).web.token is None


def test_legacy_names_keep_working_everywhere(tmp_path):
    index = setting_index()
    assert set(LEGACY) <= index.keys()
    for name in LEGACY:
        assert env_name(name) == "APPLIANCE_" + name.upper()


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for sub in action.choices.values():
            found |= {option for a in sub._actions for option in a.option_strings}
    return found


def test_every_setting_is_declared_once_with_a_flag_an_environment_name_and_a_readme_row():
    readme = (REPO / "README.md").read_text()
    flags = _flags(build_parser())
    for flat, (section, _, info) in setting_index().items():
        assert SECTIONS[section].commands, f"section {section} is used by no command"
        assert info.description, f"setting {flat} has no description"
        if not is_secret(info):
            assert flag_name(flat) in flags, f"setting {flat} has no command-line flag"
        assert re.search(rf"^\| `{flat}` \| `{env_name(flat)}` \|", readme, re.M), f"no README row for {flat}"


def test_the_readme_settings_table_is_the_models():
    readme = (REPO / "README.md").read_text()
    assert markdown_table() in readme, "README settings table is stale: python scripts/update_readme_settings.py"


def test_each_part_receives_its_own_section():
    s = load(environ={"APPLIANCE_MIN_FACE": "24", "APPLIANCE_MOTION": "0"})
    assert s.extract.min_face == 24 and s.motion.enabled is False
    with pytest.raises(Exception, match="frozen"):
        s.extract.min_face = 30  # type: ignore[misc]

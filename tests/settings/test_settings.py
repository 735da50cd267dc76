"""The settings model: layers, errors that name the setting and its source, and one declaration per setting."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import build_parser
from appliance.cli.common import settings_of
from appliance.cli.config import markdown_table, sections_table
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


# a value other than the default for each legacy name: (what loading must give, the text an operator types)
LEGACY_VALUES: dict[str, tuple[object, str]] = {
    "backend": ("tflite", "tflite"),
    "fps": (2.5, "2.5"),
    "min_face": (32.0, "32"),
    "margin": (0.5, "0.5"),
    "all_crops": (True, "true"),
    "aligned": (True, "true"),
    "threads": (3, "3"),
    "enhance": ("clahe", "clahe"),
    "upscale": (1.5, "1.5"),
    "motion": (False, "false"),
    "data": (Path("/srv/cctv"), "/srv/cctv"),
    "inbox": (Path("/srv/cctv/in"), "/srv/cctv/in"),
    "outbox": (Path("/srv/cctv/out"), "/srv/cctv/out"),
    "state": (Path("/srv/cctv/state"), "/srv/cctv/state"),
    "workers": (4, "4"),
    "polling": (True, "true"),
    "settle_s": (7.0, "7"),
    "scan_interval_s": (12.0, "12"),
    "log_level": ("DEBUG", "DEBUG"),
    "host": ("127.0.0.5", "127.0.0.5"),
    "port": (9090, "9090"),
    "token": ("a-token-of-thirty-two-characters", "a-token-of-thirty-two-characters"),
    "retention_outbox_days": (3.0, "3"),
    "retention_outbox_gb": (2.0, "2"),
    "retention_done_days": (14.0, "14"),
}


def _value(settings: object, name: str) -> object:
    section, field, _ = setting_index()[name]
    value = getattr(getattr(settings, section), field)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else json.dumps(str(value))


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_names_keep_working_everywhere(name, tmp_path, monkeypatch):
    """Each name that worked before the settings model, loaded the ways an operator gives it: a TOML key
    (through APPLIANCE_CONFIG), an environment variable and a command-line flag (parsed by the real
    parser), each arriving at its setting with its source named."""
    assert set(LEGACY_VALUES) == set(LEGACY)
    expected, typed = LEGACY_VALUES[name]
    for variable in [v for v in os.environ if v.startswith("APPLIANCE_")]:
        monkeypatch.delenv(variable)
    config = tmp_path / "appliance.toml"
    config.write_text(f"{name} = {_toml(expected)}\n")
    config.chmod(0o600)
    from_file = resolve(environ={"APPLIANCE_CONFIG": str(config)})
    assert (_value(from_file.settings, name), from_file.origins[name]) == (expected, f"file {config}")
    variable = "APPLIANCE_" + name.upper()
    from_env = resolve(environ={variable: typed})
    assert (_value(from_env.settings, name), from_env.origins[name]) == (expected, variable)
    if name == "token":
        return  # a secret has no flag
    flag = "--" + name.replace("_", "-")
    argv = [flag if expected is True else "--no-" + flag[2:]] if isinstance(expected, bool) else [flag, typed]
    from_flag = settings_of(build_parser().parse_args(["config", *argv]))
    assert (_value(from_flag.settings, name), from_flag.origins[name]) == (expected, flag)


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for sub in action.choices.values():
            found |= {option for a in sub._actions for option in a.option_strings}
    return found


def test_every_setting_is_declared_once_with_a_flag_an_environment_name_and_a_reference_row():
    reference = (REPO / "docs" / "settings.md").read_text()
    flags = _flags(build_parser())
    for flat, (section, _, info) in setting_index().items():
        assert SECTIONS[section].commands, f"section {section} is used by no command"
        assert info.description, f"setting {flat} has no description"
        if not is_secret(info):
            assert flag_name(flat) in flags, f"setting {flat} has no command-line flag"
        row = rf"^\| {section} \| `{flat}` \| `{env_name(flat)}` \|"
        assert re.search(row, reference, re.M), f"no row for {flat} in docs/settings.md"


def test_the_settings_tables_are_the_models():
    stale = "the settings tables are stale: python scripts/update_readme_settings.py"
    table = markdown_table()
    assert table in (REPO / "docs" / "settings.md").read_text(), stale
    assert sections_table() in (REPO / "README.md").read_text(), stale
    defaults = [row.split(" | ")[4] for row in table.splitlines()[2:]]
    assert not [d for d in defaults if "Undefined" in d or "factory" in d], "a default the table cannot show"
    assert "| events | `webhooks` |" in table and "| web | `allowed_hosts` |" in table


def test_each_part_receives_its_own_section():
    s = load(environ={"APPLIANCE_MIN_FACE": "24", "APPLIANCE_MOTION": "0"})
    assert s.extract.min_face == 24 and s.motion.enabled is False
    with pytest.raises(Exception, match="frozen"):
        s.extract.min_face = 30  # type: ignore[misc]


# -- issue 23 #10: webhook URLs carry credentials: secrets like the token -----------------------------
HOOK = "https://hook-user:hook-password@hooks.site.lan/secret-path-0123"


def test_webhook_urls_are_secrets_no_flag_never_shown(monkeypatch, capsys):
    from appliance.cli import main

    assert is_secret(setting_index()["webhooks"][2])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--webhooks", HOOK])
    monkeypatch.setenv("APPLIANCE_WEBHOOKS", f"{HOOK},http://other.lan/hook")
    assert main(["config"]) == 0 and main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "hook-password" not in out and "secret-path" not in out and "other.lan" not in out
    assert [u.get_secret_value() for u in load().events.webhooks] == [HOOK, "http://other.lan/hook"]
    monkeypatch.setenv("APPLIANCE_WEBHOOKS", "ftp://hook-user:hook-password@hooks.site.lan/x")
    with pytest.raises(ConfigError, match="webhook 1 of 1 is not an http") as refused:
        load()
    assert "hook-password" not in str(refused.value)


# -- issue 23 #12: config files: clear errors, no hang, a warning for a secret others can read --------
def test_a_config_file_that_is_not_utf8_says_so(tmp_path):
    config = tmp_path / "c.toml"
    config.write_bytes(b"min_face = 30\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"c.toml is not UTF-8 text \(byte 0xe9 on line 2\)"):
        load(config, environ={})


def test_a_config_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    """A FIFO with no writer used to hang start-up for ever (a real command, so a hang cannot stall the suite)."""
    fifo = tmp_path / "c.toml"
    os.mkfifo(fifo)
    cmd = [sys.executable, "-m", "appliance.cli", "config", "--config", str(fifo)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("appliance config hung on a FIFO")
    assert done.returncode == 2 and "is not a regular file" in done.stderr


def test_a_secret_in_a_config_file_every_user_can_read_is_warned_about(tmp_path, capsys):
    from appliance.cli import main

    config = tmp_path / "c.toml"
    config.write_text('token = "9f2c6a1e7b3d5f8a0c4e6b2d9f1a3c5e7b"\nmin_face = 30\n')
    config.chmod(0o644)
    assert main(["config", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "holds token and every user of this box can read it (mode 644)" in err and "chmod o-r" in err
    config.chmod(0o600)
    assert main(["config", "--config", str(config)]) == 0
    assert "warning" not in capsys.readouterr().err
    plain = tmp_path / "plain.toml"
    plain.write_text("min_face = 30\n")
    plain.chmod(0o644)
    assert main(["config", "--config", str(plain)]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("token", "why"),
    [("a" * 24, "different characters"), ("abcd" * 8, "different characters"), ("abcdefgh" * 4, "repeated")],
)
def test_a_token_easy_to_guess_is_refused(token, why):
    with pytest.raises(ConfigError, match=f"setting 'token' from APPLIANCE_TOKEN: must .*{why}.*openssl rand"):
        load(environ={"APPLIANCE_TOKEN": token})
    assert load(environ={"APPLIANCE_TOKEN": secrets.token_hex(24)}).web.token is not None


# -- issue 23 #2: a fleet's Redis with no password, off this box, is refused unless allowed -------------
def test_a_queue_with_no_password_on_another_host_is_refused_unless_allowed():
    with pytest.raises(
        ConfigError, match="setting 'queue' from APPLIANCE_QUEUE: the Redis at 10.0.0.5 has no password"
    ):
        load(environ={"APPLIANCE_QUEUE": "redis://10.0.0.5:6379/0"})
    for fine in (
        "redis://:a-password@10.0.0.5:6379/0",
        "redis://appliance:a-password@10.0.0.5:6379/0",
        "rediss://10.0.0.5:6379/0?password=a-password",
        "redis://127.0.0.1:6379/0",
        "redis://localhost:6379/0",
        "unix:///run/redis/redis.sock",
    ):
        assert load(environ={"APPLIANCE_QUEUE": fine}).service.fleet, fine
    allowed = load(environ={"APPLIANCE_QUEUE": "redis://10.0.0.5:6379/0", "APPLIANCE_ALLOW_INSECURE_QUEUE": "true"})
    assert allowed.service.fleet and allowed.service.allow_insecure_queue

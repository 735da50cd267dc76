"""Settings from layers: defaults < TOML file < ``APPLIANCE_*`` environment < command-line flags.

Each layer is a mapping of flat names to raw values; the highest layer that names a setting wins,
and is remembered as that setting's origin, so that ``appliance config`` can say where every value
came from and an invalid value is reported with the setting's name *and* where it was set.
Coercion and validation are pydantic's (:mod:`appliance.settings.model`).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError, SettingError
from .model import SECTIONS, Settings, is_secret, setting_index

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "APPLIANCE_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
DEFAULT = "default"
MAX_CONFIG_BYTES = 1 << 20


def env_name(flat: str) -> str:
    return ENV_PREFIX + flat.upper()


def flag_name(flat: str) -> str:
    return "--" + flat.replace("_", "-")


@dataclass(frozen=True)
class Resolved:
    """Settings with the origin of each value: ``default``, ``file <path>``, an environment name or a flag."""

    settings: Settings
    origins: dict[str, str]
    warnings: tuple[str, ...] = ()  # for the operator, said at start-up (a secret in a file others can read)


def _read_config(path: Path) -> tuple[bytes, int]:
    """The file's bytes and mode. Opened without blocking and refused unless a regular file of sane size:
    a FIFO would hang start-up, a device never end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config file {path} is not a regular file (a FIFO, socket, device or folder)")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is {info.st_size} bytes; a settings file is a few hundred")
        return handle.read(MAX_CONFIG_BYTES + 1), info.st_mode


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): "
            "TOML files are UTF-8; save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None


def _secrets_readable_by_all(path: Path, mode: int, names: list[str]) -> list[str]:
    """A warning if the file holds a secret and every user of the box may read it."""
    secrets = [name for name in names if is_secret(setting_index()[name][2])]
    if not secrets or not mode & stat.S_IROTH:
        return []
    return [
        f"config file {path} holds {', '.join(secrets)} and every user of this box can read it "
        f"(mode {stat.S_IMODE(mode):o}): chmod o-r {path}, or set {env_name(secrets[0])} in the environment"
    ]


def _file_layer(path: Path, warnings: list[str]) -> dict[str, Any]:
    data, mode = _read_config(path)
    table = _parse(path, data)
    flat_values = _flatten(path, table)
    warnings.extend(_secrets_readable_by_all(path, mode, list(flat_values)))
    return flat_values


def _flatten(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    """The file's settings by flat name, whether set at the top level, under [appliance] or by section."""
    index = setting_index()
    by_section = {(section, field): flat for flat, (section, field, _) in index.items()}
    flat_values: dict[str, Any] = {}
    for key, raw in {**table.pop("appliance", {}), **table}.items():
        name = key.replace("-", "_")
        if name in SECTIONS and isinstance(raw, dict):  # [extract] min_face = 30
            for field, value in raw.items():
                flat = by_section.get((name, field.replace("-", "_")))
                if flat is None:
                    raise ConfigError(f"config file {path}: unknown setting '{field}' in [{name}]")
                flat_values[flat] = value
        elif name in index:
            flat_values[name] = raw
        else:
            raise ConfigError(f"config file {path}: unknown setting '{key}'")
    return flat_values


def resolve(
    config_file: str | os.PathLike[str] | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    serving: bool = False,
) -> Resolved:
    """The validated settings and the origin of each. ``flags``: flat name -> value (None: not given)."""
    environ = os.environ if environ is None else environ
    index = setting_index()
    layers: list[tuple[str | None, dict[str, Any]]] = []
    warnings: list[str] = []
    config_file = config_file or environ.get(CONFIG_ENV)
    if config_file:
        layers.append((f"file {config_file}", _file_layer(Path(config_file), warnings)))
    layers.append((None, {flat: environ[env_name(flat)] for flat in index if env_name(flat) in environ}))
    unknown = sorted(set(flags or {}) - index.keys())
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}")
    layers.append(("flag", {flat: value for flat, value in (flags or {}).items() if value is not None}))
    values: dict[str, Any] = {}
    origins = dict.fromkeys(index, DEFAULT)
    for origin, layer in layers:
        for flat, raw in layer.items():
            values[flat] = raw
            origins[flat] = origin or env_name(flat)
            if origin == "flag":
                origins[flat] = flag_name(flat)
    nested: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for flat, raw in values.items():
        section, field, _ = index[flat]
        nested[section][field] = raw
    try:
        settings = Settings.model_validate(nested, context={"serving": serving})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins, values)) from None
    return Resolved(settings, origins, tuple(warnings))


def load(
    config_file: str | os.PathLike[str] | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    serving: bool = False,
) -> Settings:
    return resolve(config_file, flags, environ, serving).settings


def _describe(exc: ValidationError, origins: dict[str, str], values: dict[str, Any]) -> str:
    """The first error as one sentence: which setting, from where, what is wrong, what was given."""
    error = exc.errors()[0]
    by_location = {(section, field): flat for flat, (section, field, _) in setting_index().items()}
    cause = (error.get("ctx") or {}).get("error")
    location = (str(error["loc"][0]), str(error["loc"][1])) if len(error["loc"]) >= 2 else ("", "")
    flat = cause.flat if isinstance(cause, SettingError) else by_location.get(location, "")
    message = str(cause) if isinstance(cause, ValueError) else error["msg"]
    message = message[0].lower() + message[1:] if message else message
    origin = origins.get(flat, DEFAULT)
    where = "" if origin == DEFAULT else f" from {origin}"
    secret = flat in by_location.values() and is_secret(setting_index()[flat][2])
    given = f" (got {values[flat]!r})" if flat in values and not secret else ""
    return f"setting '{flat}'{where}: {message}{given}"

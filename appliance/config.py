"""One settings object: defaults < TOML file < ``APPLIANCE_*`` environment < command-line flags.

Every value is checked once at start-up; an invalid one stops the appliance with a message that
names the setting and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .extract import ExtractSettings


class ConfigError(ValueError):
    """A setting with an invalid value; the message names it."""


@dataclass(frozen=True)
class Settings:
    # detection and output
    backend: str = "auto"
    fps: str = "5"  # analysed frames per second, or "all"
    min_face: float = 20.0
    margin: float = 0.2
    all_crops: bool = False
    aligned: bool = False
    threads: int = 1
    enhance: str = "auto"  # low-light enhancement: auto, off, stretch, clahe, gamma
    upscale: float = 1.0  # > 1: find faces down to min_face / upscale px
    motion: bool = True  # motion gating
    # the service
    data: str = "./data"
    inbox: str = ""  # default: <data>/inbox
    outbox: str = ""  # default: <data>/outbox
    state: str = ""  # default: <data>/state
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    token: str = ""
    polling: bool = False  # poll the inbox instead of inotify (NFS/SMB/bind mounts)
    settle_s: float = 3.0  # a file must be unchanged this long before it is taken
    scan_interval_s: float = 30.0
    log_level: str = "INFO"
    retention_outbox_days: float = 0.0  # 0 = keep forever
    retention_outbox_gb: float = 0.0  # 0 = no cap
    retention_done_days: float = 0.0  # processed footage in state/done; 0 = keep forever

    # -- derived ---------------------------------------------------------------------------
    @property
    def inbox_dir(self) -> Path:
        return Path(self.inbox or Path(self.data) / "inbox")

    @property
    def outbox_dir(self) -> Path:
        return Path(self.outbox or Path(self.data) / "outbox")

    @property
    def state_dir(self) -> Path:
        return Path(self.state or Path(self.data) / "state")

    @property
    def analysis_fps(self) -> float | None:
        return None if str(self.fps).lower() == "all" else float(self.fps)

    def extract_settings(self) -> ExtractSettings:
        return ExtractSettings(
            backend=self.backend,
            fps=self.analysis_fps,
            min_face=self.min_face,
            margin=self.margin,
            all_crops=self.all_crops,
            aligned=self.aligned,
            threads=self.threads,
            enhance=self.enhance,
            upscale=self.upscale,
            motion=self.motion,
        )

    def validate(self, serving: bool = False) -> Settings:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"setting '{name}': {why} (got {getattr(self, name)!r})")

        from .detect import BACKENDS

        if self.backend not in BACKENDS:
            raise bad("backend", f"must be one of {', '.join(BACKENDS)}")
        if str(self.fps).lower() != "all":
            try:
                if float(self.fps) <= 0:
                    raise ValueError
            except ValueError:
                raise bad("fps", "must be a positive number or 'all'") from None
        if self.min_face < 12:
            raise bad("min_face", "must be at least 12 (MTCNN's smallest window)")
        from .enhance import MODES

        if self.enhance not in MODES:
            raise bad("enhance", f"must be one of {', '.join(MODES)}")
        if not 1.0 <= self.upscale <= 4.0:
            raise bad("upscale", "must be between 1 (off) and 4")
        if not 0 <= self.margin <= 2:
            raise bad("margin", "must be between 0 and 2")
        if self.threads < 1:
            raise bad("threads", "must be at least 1")
        if self.workers < 1:
            raise bad("workers", "must be at least 1")
        if not 0 <= self.port < 65536:
            raise bad("port", "must be 0-65535 (0: any free port)")
        if self.settle_s < 0 or self.scan_interval_s <= 0:
            raise bad("settle_s" if self.settle_s < 0 else "scan_interval_s", "must be positive")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise bad("log_level", "must be DEBUG, INFO, WARNING or ERROR")
        for name in ("retention_outbox_days", "retention_outbox_gb", "retention_done_days"):
            if getattr(self, name) < 0:
                raise bad(name, "must be 0 (off) or positive")
        if serving and not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"setting 'token': required when binding to {self.host!r} (not loopback): "
                "set APPLIANCE_TOKEN or 'token' in the config file"
            )
        return self


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "localhost", "::1"} or host.startswith("127.")


def _coerce(name: str, raw: Any, kind: Any, origin: str) -> Any:
    try:
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting '{name}' from {origin}: invalid value {raw!r}") from None


def load(
    config_file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    serving: bool = False,
) -> Settings:
    """Settings from the layers, validated. ``overrides`` are CLI flags (None means not given)."""
    environ = dict(os.environ) if environ is None else environ
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    config_file = config_file or environ.get("APPLIANCE_CONFIG")
    if config_file:
        path = Path(config_file)
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        table = {**table.pop("appliance", {}), **table}
        for key, raw in table.items():
            name = key.replace("-", "_")
            if name not in types:
                raise ConfigError(f"config file {path}: unknown setting '{key}'")
            values[name] = _coerce(name, raw, types[name], str(path))
    for name, kind in types.items():
        env_name = f"APPLIANCE_{name.upper()}"
        if env_name in environ:
            values[name] = _coerce(name, environ[env_name], kind, env_name)
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, types[name], f"--{name.replace('_', '-')}")
    return dataclasses.replace(Settings(), **values).validate(serving)

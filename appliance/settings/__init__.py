"""One settings model, in layers: defaults < TOML file < ``APPLIANCE_*`` environment < flags.

Every value is checked once at start-up; an invalid one stops the appliance with a message that
names the setting and where it came from. Each part of the appliance is handed its own section.
"""

from .errors import ConfigError, SettingError
from .load import CONFIG_ENV, Resolved, env_name, flag_name, load, resolve
from .model import (
    BACKENDS,
    ENHANCE_MODES,
    EventsSettings,
    ExtractSettings,
    MotionSettings,
    PeopleSettings,
    RetentionSettings,
    ScanSettings,
    ServiceSettings,
    Settings,
    WebSettings,
    is_loopback,
    setting_index,
)

__all__ = [
    "BACKENDS",
    "CONFIG_ENV",
    "ENHANCE_MODES",
    "ConfigError",
    "EventsSettings",
    "ExtractSettings",
    "MotionSettings",
    "PeopleSettings",
    "Resolved",
    "RetentionSettings",
    "ScanSettings",
    "ServiceSettings",
    "SettingError",
    "Settings",
    "WebSettings",
    "env_name",
    "flag_name",
    "is_loopback",
    "load",
    "resolve",
    "setting_index",
]

"""Errors about settings, written for the operator: each names the setting to change."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it was set."""


class SettingError(ValueError):
    """Raised by a rule that spans settings, naming the setting the operator should change."""

    def __init__(self, flat: str, message: str) -> None:
        super().__init__(message)
        self.flat = flat

"""Settings, logging set-up and the data files a deployer edits."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]

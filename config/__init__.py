"""Settings (pydantic-settings, read once at the entry point and passed down), logging set-up
(the bot token kept out of every line) and the data files a deployer edits."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]

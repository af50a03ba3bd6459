"""User-facing error types: the CLI turns these into one clear message and exit code 2."""


class HwpredError(Exception):
    """An error the user caused and can fix (bad config, missing file, malformed data...)."""


class DataError(HwpredError, ValueError):
    """A missing, malformed or inconsistent data file or table."""


class ConfigError(HwpredError, ValueError):
    """A bad configuration value."""

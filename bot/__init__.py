"""claimwatch: follows official channels, extracts incident claims, links them and flags conflicts."""

__version__ = "0.1.0"

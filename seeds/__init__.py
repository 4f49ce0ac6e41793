"""Data claimwatch ships: the default official sources and the demo corpus."""

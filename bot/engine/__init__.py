"""The pure engine: extraction, gazetteer, linking, conflicts and digest rendering (no Telegram, no SQL)."""

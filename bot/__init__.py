"""claimwatch: follows official channels, extracts incident claims, links them and flags conflicts.

``bot/`` is the application, in layers: ``cli`` and ``commands`` (the command line: arguments,
printing), ``app`` (the Telegram Application: builder, handler registration, start and stop) and
``jobs`` (what the JobQueue runs) on top; ``services/`` (use cases, one transaction each) below
them; ``telegram/`` (sending and PTB request-layer adapters) and ``pollers/`` (t.me previews and
feeds) at the edges; ``engine/`` (pure extraction, linking, conflicts, digests) at the bottom.
``exports`` reads Telegram Desktop exports and ``i18n`` the UI strings.
"""

__version__ = "0.1.0"

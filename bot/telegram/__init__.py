"""Telegram transport adapters under the handlers: sending one message with retries and pacing
(``send``), and PTB request-layer subclasses that record which delivery part is on the wire
(``tracked_request``) and drop updates PTB cannot decode without losing their batch
(``safe_updates``).
"""

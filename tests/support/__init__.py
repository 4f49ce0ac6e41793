"""Test support code: the project's own Telegram Bot API server (``tests.support.botapi``),
channel web previews on loopback (``tests.support.tme``) and ``claimwatch worker`` processes with
the sources they poll (``tests.support.workers``).

Import from the package, e.g. ``from tests.support.botapi import BotApiServer``; this
package itself stays empty so that pytest's import modes cannot load the server twice.
"""

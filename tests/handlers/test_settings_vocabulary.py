"""One vocabulary for settings: the words of ``/settings <word> <value>`` and of the settings
buttons name the same changes, and a bad switch is refused with its own message."""

from __future__ import annotations

import pytest

from bot.services.subscriptions import InputError
from handlers.callbacks import setting_change


@pytest.mark.parametrize(("typed", "button"), [("time", "time"), ("timezone", "tz"), ("language", "lang"),
                                               ("oblast", "obl"), ("region", "obl"), ("alerts", "alerts")])
def test_typed_and_button_words_name_the_same_setting(typed: str, button: str) -> None:
    value = "on" if typed == "alerts" else "kharkiv"
    assert setting_change(typed, value) == setting_change(button, value)
    assert setting_change(typed.upper(), value) == setting_change(button, value)


def test_values_become_changes() -> None:
    assert setting_change("time", "7:30") == {"digest_time": "7:30"}  # checked when saved
    assert setting_change("alerts", "on") == {"instant_alerts": True}
    assert setting_change("alerts", "off") == {"instant_alerts": False}
    assert setting_change("colour", "red") is None


def test_a_switch_that_is_neither_on_nor_off_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        setting_change("alerts", "maybe")
    assert refused.value.key == "bad_alerts"

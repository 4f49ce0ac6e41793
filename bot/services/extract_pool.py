"""Extraction in worker processes (``claimwatch import --jobs N``): each worker holds one Extractor
for its whole life and reads parts of a chunk through ``Extractor.extract_many``, while the
calling process stores the chunks in order.

On Linux the workers are forked from a process that has loaded its Extractor already, so they
start at once and share its gazetteer index copy-on-write; elsewhere each loads its own from the
cache folder.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Self

from bot.engine.extract import Extractor
from bot.engine.gazetteer import Gazetteer
from bot.engine.types import Claim, SourceInfo

Item = tuple[str, datetime | None, SourceInfo | None, str | None]

_extractor: Extractor | None = None  # the worker's (inherited when forked)


def usable_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the importer dies, even by SIGKILL: a worker left
    behind would wait on its queue for ever and hold the importer's output pipes open."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the importer died before the line above
        os._exit(1)


def _start_worker(cache_dir: str | None, parent: int) -> None:
    global _extractor
    _die_with_parent(parent)
    if _extractor is None:
        _extractor = Extractor.load(Gazetteer.load(Path(cache_dir) if cache_dir else None))


def _extract(items: Sequence[Item]) -> list[list[Claim]]:
    assert _extractor is not None
    return _extractor.extract_many(items)


class ExtractionPool:
    """``jobs`` worker processes that extract; ``submit`` splits a chunk between them.

    Use as a context manager; the workers stop at its end (or when the caller is interrupted).
    """

    def __init__(self, extractor: Extractor, jobs: int, cache_dir: Path | None = None) -> None:
        global _extractor
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods:
            _extractor = extractor  # the forked workers find it loaded
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context()
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                         initargs=(str(cache_dir) if cache_dir else None, os.getpid()))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, items: Sequence[Item]) -> list[Future[list[list[Claim]]]]:
        """Start extracting ``items``, in up to ``jobs`` parts; ``gather`` gives the claims back in order."""
        size = max(1, -(-len(items) // self.jobs))
        return [self._pool.submit(_extract, list(items[start:start + size])) for start in range(0, len(items), size)]

    @staticmethod
    def gather(parts: Sequence[Future[list[list[Claim]]]]) -> list[list[Claim]]:
        out: list[list[Claim]] = []
        for part in parts:
            out.extend(part.result())
        return out

"""``python -m bench``: extraction and linking benchmarks with modest sizes; ``--full`` adds the 1M-claim store."""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from bench import bench_extract, bench_link


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="link against 10k, 100k and 1M claims (a few minutes more)")
    parser.add_argument("--db", default=None, help="database URL for the linking benchmark (default: SQLite temp file)")
    parser.add_argument("--no-cold", action="store_true", help="skip timing a cold gazetteer build")
    args = parser.parse_args(argv)

    print(f"Python {platform.python_version()} on {platform.machine()}, {sys.platform}", flush=True)
    bench_extract.main(["--no-cold"] if args.no_cold else [])
    sizes = "10000,100000,1000000" if args.full else "10000,100000"
    bench_link.main(["--sizes", sizes, *(["--db", args.db] if args.db else [])])


if __name__ == "__main__":
    main()

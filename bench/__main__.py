"""``python -m bench``: every benchmark with modest sizes; ``--full`` uses the sizes of issue #7
(1M-claim stores, a dense day of 1,500 posts ingested with 1 and N processes, 1,000 subscribers, 200 latency samples)."""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from bench import bench_extract, bench_fanout, bench_ingest, bench_latency, bench_link, bench_memory, bench_workers

ALL = ("extract", "link", "ingest", "fanout", "latency", "memory", "workers")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the issue's sizes (several minutes more)")
    parser.add_argument("--db", default=None, help="database URL for the linking benchmark (default: SQLite temp file)")
    parser.add_argument("--pg", default=bench_ingest.DEFAULT_PG,
                        help="PostgreSQL URL for the ingest and workers benchmarks ('none' to skip; default: %(default)s)")
    parser.add_argument("--no-cold", action="store_true", help="skip timing a cold gazetteer build")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated subset of: " + ", ".join(ALL))
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    print(f"Python {platform.python_version()} on {platform.machine()}, {sys.platform}", flush=True)
    full = args.full
    if "extract" in only:
        bench_extract.main(["--no-cold"] if args.no_cold else [])
    if "link" in only:
        sizes = "10000,100000,1000000" if full else "10000,100000"
        bench_link.main(["--sizes", sizes, *(["--db", args.db] if args.db else [])])
    if "ingest" in only:
        bench_ingest.main(["--posts", "1500" if full else "600", "--pg", args.pg])
    if "fanout" in only:
        bench_fanout.main(["--subscribers", "1000" if full else "300"])
    if "workers" in only and args.pg != "none":
        bench_workers.main(["--posts", "20" if full else "10", "--pg", args.pg])
    if "latency" in only:
        bench_latency.main(["--samples", "200" if full else "50"])
    if "memory" in only:
        bench_memory.main(["--claims", "1000000" if full else "100000"])


if __name__ == "__main__":
    main()

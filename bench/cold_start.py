"""Cold start of the monitor on an existing data directory, one measurement per run.

Usage: ``python bench/cold_start.py DATA_DIR [--no-checkpoint] [--profile]``. Prints the import
time and the time until ``get_system_metrics()`` answers. ``bench/monitor.py`` generates a
1M-execution directory and runs the full comparison; this script repeats one case quickly.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--no-checkpoint", action="store_true", help="delete the checkpoint first")
    parser.add_argument("--profile", action="store_true", help="print a cProfile (main process)")
    args = parser.parse_args()
    if args.no_checkpoint:
        for cp in (args.data_dir / "metrics").glob(".checkpoint-executions*"):
            cp.unlink()
    t0 = time.perf_counter()
    from core.monitor.performance import PerformanceMonitor

    t1 = time.perf_counter()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    monitor = PerformanceMonitor(args.data_dir)
    total = monitor.get_system_metrics().total_executions
    t2 = time.perf_counter()
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    print(f"imports {t1 - t0:.2f} s, cold start {t2 - t1:.2f} s, {total:,} executions")


if __name__ == "__main__":
    main()

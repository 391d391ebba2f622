"""What the benchmarks print about the machine they ran on (its load: a shared 2-core box skews every ratio)."""

import os
from pathlib import Path


def load() -> str:
    """The 1-minute load average and the number of cores, e.g. `2.31 on 2 cores`."""
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0] + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"

"""What else runs on our CPUs: time the host stole from this virtual machine, and time other processes of
this machine used, per CPU, from /proc/stat.

On a shared host the hypervisor runs other guests on our CPUs; the time a CPU of ours wanted to run and could
not is `steal`, the eighth counter of its line in /proc/stat (proc(5)). A server that loses 14% of its CPU
answers fewer requests per second for a reason that is not its own, so every slice records it, on the
server's CPUs and on the load generator's. The busy time of the server's CPUs beyond the server's own CPU
time is the rest of this machine (another job, a test run).

The kernel's interrupt work (irq and softirq) is not counted as anyone's: on loopback it is mostly the
traffic's own packets, processed on the CPU that sent them, so the generator's CPUs do more of it for a server
that closes every connection (gunicorn's sync worker: a TCP handshake and teardown per request). Counted as
"other processes", it dropped three of five Flask pairs on predict as disturbed when nothing else ran.
"""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

PROC_STAT = Path("/proc/stat")
# user nice system idle iowait irq softirq steal: guest and guest_nice are already counted in user and nice.
COUNTED_FIELDS = 8
IDLE_FIELDS, INTERRUPT_FIELDS, STEAL_FIELD = (3, 4), (5, 6), 7
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Ticks(NamedTuple):
    steal: int
    total: int
    busy: int  # processes' time: neither idle, waiting on I/O, serving interrupts nor stolen


CpuTimes = Mapping[str, Ticks]  # "cpu" (all), "cpu0", ... -> clock ticks since boot


def parse_stat(text: str) -> dict[str, Ticks]:
    times = {}
    for line in text.splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu"):
            continue
        values = [int(value) for value in fields[:COUNTED_FIELDS]]
        values += [0] * (COUNTED_FIELDS - len(values))
        steal = values[STEAL_FIELD]
        busy = sum(values) - steal - sum(values[i] for i in (*IDLE_FIELDS, *INTERRUPT_FIELDS))
        times[name] = Ticks(steal, sum(values), busy)
    return times


def read_cpu_times(path: Path = PROC_STAT) -> dict[str, Ticks]:
    """Every CPU's ticks; empty where there is no /proc/stat (not Linux)."""
    try:
        return parse_stat(path.read_text())
    except OSError:
        return {}


def summed(times: CpuTimes, cpus: Sequence[int]) -> Ticks:
    """Ticks summed over `cpus` (none given: the whole machine)."""
    names = [f"cpu{cpu}" for cpu in cpus] or ["cpu"]
    picked = [times[name] for name in names if name in times]
    return Ticks(*(sum(values) for values in zip(*picked, strict=True))) if picked else Ticks(0, 0, 0)

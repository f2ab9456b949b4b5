"""Side-by-side timing on a noisy machine.

A verdict is never one absolute time. Candidate and reference run in one
process, alternating within each round (c r r c c r, then r c c r r c) so
that a change of load hits both alike. Other processes only ever add time,
so a round keeps the fastest of its timed units per candidate. The verdict is
the median of the per-round ratios; their quartiles and range show how far
to trust it.

Each unit is timed twice: on the wall clock, and in CPU seconds spent by this
process and the subprocesses it waited for. On a small machine shared with
other work, wall time is bimodal: a unit has a core to itself or shares it
(measured: 110 ms or 168 ms for the same training epoch). Over one set of
rounds of identical work, wall-clock ratios ranged 0.66-1.47 and CPU ratios
0.95-1.02. Verdicts use CPU time, the work a layer costs; wall-clock ratios
are reported beside them.
"""

import ctypes
import math
import resource
import statistics
import time
from dataclasses import dataclass, field

# Shortest timed unit: timer resolution and scheduler jitter stay small against it.
UNIT_SECONDS = 0.1
ORDERS = ("crrccr", "rccrrc")


@dataclass
class Spread:
    """Median, quartiles and range of a list of numbers."""

    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values):
        if len(values) == 1:
            (value,) = values
            return cls(value, value, value, value, value)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), q1, q3, min(values), max(values))

    def text(self):
        return f"IQR {self.q1:.3f}-{self.q3:.3f}, range {self.low:.3f}-{self.high:.3f}"


@dataclass
class Clock:
    """Seconds per operation of a candidate and a reference, round by round."""

    candidate: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)

    def ratio(self):
        return Spread.of([c / r for c, r in zip(self.candidate, self.reference, strict=True)])


@dataclass
class Comparison:
    cpu: Clock = field(default_factory=Clock)
    wall: Clock = field(default_factory=Clock)

    def as_dict(self):
        return {
            f"{clock}_{who}_seconds": getattr(getattr(self, clock), who)
            for clock in ("cpu", "wall")
            for who in ("candidate", "reference")
        }


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def steady_allocator():
    """Make glibc's malloc reuse freed large buffers instead of returning them
    to the system; True if it could (Linux with glibc), False otherwise.

    By default glibc moves its mmap and trim thresholds as a process runs, so
    whether a 16 MB buffer (a 2048x2048 weight) is reused or mapped afresh,
    at 4096 page faults and 5-6 ms, depends on the allocation history. Left
    alone, save + load ratios came out 1.07 in one process and 1.19 in the
    next, by who happened to get the fresh pages. Fixed thresholds end that.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap_max = 32 * 2**20  # the largest glibc accepts on 64-bit
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_max) and libc.mallopt(M_TRIM_THRESHOLD, 2**30))


def cpu_seconds():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def seconds_per_call(operation, repeats):
    """(wall, CPU) seconds per call of `operation`, over `repeats` calls."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(repeats):
        operation()
    return (time.perf_counter() - wall) / repeats, (cpu_seconds() - cpu) / repeats


def repeats_for(operation):
    """How many calls of a warmed-up operation fill one timed unit."""
    wall, _ = seconds_per_call(operation, 1)
    return max(1, math.ceil(UNIT_SECONDS / wall))


def compare(candidate, reference, rounds, warmup=1):
    """Time two operations side by side; both are called `warmup` times first
    (tracing, compilation, caches) and never timed then."""
    for _ in range(warmup):
        candidate()
        reference()
    repeats = max(repeats_for(candidate), repeats_for(reference))
    operations = {"c": candidate, "r": reference}
    result = Comparison()
    for index in range(rounds):
        units = {"c": [], "r": []}
        for who in ORDERS[index % 2]:
            units[who].append(seconds_per_call(operations[who], repeats))
        for clock, position in ((result.wall, 0), (result.cpu, 1)):
            clock.candidate.append(min(unit[position] for unit in units["c"]))
            clock.reference.append(min(unit[position] for unit in units["r"]))
    return result

"""Rows of results: a table on the terminal, JSON and a plot on disk."""

import json
from dataclasses import asdict, dataclass, field

from benchmarks.timing import Spread

COLUMNS = ("metric", "generated", "reference", "ratio", "spread", "wall ratio", "bar", "result")
UNITS = {"s": 1.0, "ms": 1e3, "ms/step": 1e3, "us/call": 1e6}


@dataclass
class Bar:
    """What a measured value must satisfy: at most, under, or exactly `limit`.
    An aim is reported like a bar, but missing it does not fail the run."""

    limit: float
    relation: str = "<="
    unit: str = ""
    aim: bool = False

    def holds(self, value):
        if self.relation == "==":
            return value == self.limit
        if self.relation == "<":
            return value < self.limit
        return value <= self.limit

    def text(self):
        return ("aim " if self.aim else "") + f"{self.relation} {self.limit:.2f}{self.unit}"


@dataclass
class Row:
    """One metric. `ratio` is a Spread of generated/reference ratios (of CPU
    time, for timings; `wall` the same on the wall clock), None when the metric
    is not a ratio. `bar` is a Bar, or a sentence for a yes/no requirement;
    rows without one are context and have `passed` None."""

    metric: str
    generated: str
    reference: str
    ratio: Spread | None = None
    wall: Spread | None = None
    bar: Bar | str | None = None
    passed: bool | None = None
    note: str = ""
    raw: dict = field(default_factory=dict)

    def cells(self):
        ratio = f"{self.ratio.median:.3f}" if self.ratio else "-"
        spread = self.ratio.text() if self.ratio and self.ratio.high > self.ratio.low else "-"
        wall = (
            f"{self.wall.median:.3f} (IQR {self.wall.q1:.2f}-{self.wall.q3:.2f})"
            if self.wall
            else "-"
        )
        bar = self.bar.text() if isinstance(self.bar, Bar) else self.bar or "context"
        result = {True: "pass", False: "MISS" if self.is_aim() else "FAIL", None: "-"}[self.passed]
        return (self.metric, self.generated, self.reference, ratio, spread, wall, bar, result)

    def is_aim(self):
        return isinstance(self.bar, Bar) and self.bar.aim

    def failed(self):
        return self.passed is False and not self.is_aim()

    def as_dict(self):
        return {
            **dict(zip(COLUMNS, self.cells(), strict=True)),
            "ratio": asdict(self.ratio) if self.ratio else None,
            "wall_ratio": asdict(self.wall) if self.wall else None,
            "bar": asdict(self.bar) if isinstance(self.bar, Bar) else self.bar,
            "passed": self.passed,
            "note": self.note,
            "raw": self.raw,
        }


def ratio_row(metric, result, bar=None, unit="ms", per=1):
    """The row of a timing Comparison: median CPU times in `unit` (per `per`
    operations, e.g. steps of an epoch) and the spread of the ratios."""
    scale = UNITS[unit] / per
    ratio = result.cpu.ratio()
    return Row(
        metric,
        f"{Spread.of(result.cpu.candidate).median * scale:.3g} {unit}",
        f"{Spread.of(result.cpu.reference).median * scale:.3g} {unit}",
        ratio=ratio,
        wall=result.wall.ratio(),
        bar=bar,
        passed=bar.holds(ratio.median) if bar else None,
        raw=result.as_dict(),
    )


def table(rows):
    """A Markdown table, readable as it is on a terminal."""
    lines = [COLUMNS, ["---"] * len(COLUMNS), *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join(
        "| "
        + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        + " |"
        for line in lines
    )


def notes(rows):
    return [f"- {row.metric}: {row.note}" for row in rows if row.note]


def write_json(path, rows, facts):
    rows = [row.as_dict() for row in rows]
    path.write_text(json.dumps({**facts, "rows": rows}, indent=2) + "\n")


def plot(path, rows):
    """Median ratio per metric with its IQR (thick) and range (thin), the
    wall-clock median (cross) and the bar; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return None
    shown = list(reversed([row for row in rows if row.ratio]))
    figure, axes = pyplot.subplots(figsize=(9, 0.4 * len(shown) + 1.6))
    for y, row in enumerate(shown):
        colour = {True: "tab:green", False: "tab:red", None: "tab:grey"}[row.passed]
        spread = row.ratio
        axes.plot([spread.low, spread.high], [y, y], color=colour, linewidth=1)
        axes.plot([spread.q1, spread.q3], [y, y], color=colour, linewidth=5)
        axes.plot(spread.median, y, "o", color="black", markersize=4)
        if row.wall:
            axes.plot(row.wall.median, y, "x", color="black", markersize=5)
        if isinstance(row.bar, Bar):
            axes.plot(row.bar.limit, y, "|", color="tab:red", markersize=16, markeredgewidth=2)
    axes.axvline(1.0, color="black", linewidth=0.5)
    axes.set_yticks(range(len(shown)), [row.metric for row in shown], fontsize=8)
    axes.set_xlabel(
        "generated / reference, of CPU time or bytes: median (dot), IQR (thick), range (thin)\n"
        "wall-clock median (cross); the bar (red tick); grey: context, no bar",
        fontsize=8,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path

"""The plots of `make bench`, drawn with matplotlib (Agg, no display) from the raw timings the sections
hand back in Result.samples (ms): for each plot, a line per route or measure.

- distributions(): the latency distribution of each line, as CDFs (percentile against ms, log scale),
  or as box plots when there are too many lines for a legend (the warm handler's routes);
- scale_curves(): p50 and p95 of each measure against the size of the table (bench/scale.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bench.common import percentile, summarise

MAX_CDF_LINES = 10
DPI = 110


def file_name(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"


def distributions(title: str, lines: dict[str, list[float]], folder: Path) -> Path:
    """One PNG for the plot titled `title`: CDFs, or box plots when there are many lines."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(title)
    lines = {label: samples for label, samples in lines.items() if samples}
    if len(lines) > MAX_CDF_LINES:
        _boxes(title, lines, path)
    else:
        _cdfs(title, lines, path)
    return path


def _cdfs(title: str, lines: dict[str, list[float]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for label, samples in lines.items():
        ordered = sorted(samples)
        shares = [100 * (n + 1) / len(ordered) for n in range(len(ordered))]
        axes.step(ordered, shares, where="post", label=f"{label} (n={len(ordered)})")
    axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log scale)")
    axes.set_ylabel("percentile")
    axes.set_yticks([0, 25, 50, 75, 95])
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(f"{title}: latency distribution")
    axes.legend(fontsize="small", loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _boxes(title: str, lines: dict[str, list[float]], path: Path) -> None:
    """A row per line: p5 to p95 (thin), p25 to p75 (thick), p50 (dot)."""
    labels = sorted(lines, key=lambda label: summarise(lines[label])[0])
    figure, axes = plt.subplots(figsize=(10, 0.22 * len(labels) + 1.5))
    for y, label in enumerate(labels):
        p5, p25, p75, p95 = (percentile(lines[label], q) for q in (5, 25, 75, 95))
        axes.hlines(y, p5, p95, color="tab:blue", linewidth=1)
        axes.hlines(y, p25, p75, color="tab:blue", linewidth=5)
        axes.plot(summarise(lines[label])[0], y, "o", color="black", markersize=3)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_ylim(-1, len(labels))
    axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log scale); thin: p5 to p95, thick: p25 to p75, dot: p50")
    axes.grid(True, axis="x", which="both", alpha=0.3)
    axes.set_title(f"{title}: latency distribution per route")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def scale_curves(
    title: str, measures: dict[str, dict[str, list[float]]], sizes: dict[str, int], folder: Path
) -> Path:
    """p50 (solid) and p95 (dashed) of each measure against the number of reservations."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(title)
    figure, axes = plt.subplots(figsize=(8, 5))
    for measure, by_size in measures.items():
        labels = [label for label in sizes if label in by_size]
        x = [sizes[label] for label in labels]
        p50s, p95s = zip(*(summarise(by_size[label]) for label in labels), strict=True)
        (line,) = axes.plot(x, p50s, marker="o", label=measure)
        axes.plot(x, p95s, marker=".", linestyle="--", color=line.get_color())
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(list(sizes.values()), list(sizes))
    axes.set_xlabel("reservations in the table (log scale)")
    axes.set_ylabel("latency, ms (log scale); solid p50, dashed p95")
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(title)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path

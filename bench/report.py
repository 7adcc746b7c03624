"""`make bench`: every benchmark of Reservas in one run, printed as one markdown table.

    .venv/bin/python bench/report.py [--quick] [--scale 10m] [--only cold,handlers,warm,...,scale]
    BENCH_SCALE=10m make bench      # the same as --scale 10m

Each section runs in a process of its own, with its own PostgreSQL and Redis where it needs them, one
after the other (never two at once: they would skew each other's figures):

1. cold start        bench/cold_start.py   built functions imported by fresh interpreters
2. handlers          bench/handlers.py     warm p50/p95 of every route, in process
   warm              bench/warm_path.py    cached reads and login against a trivial route; the profile
3. local             bench/local_api_load.py    a read-heavy mix over HTTP, 8 and 32 clients
4. availability      bench/availability.py availability at 1,000,000 reservations
5. connections       bench/connections.py  what a connection costs; how many Aurora and RDS Proxy take
6. race              bench/local_api_load.py    the race checker, Reservas and the naive baseline
7. scale             bench/scale.py        only with --scale (BENCH_SCALE): one database grown to 250k,
                                           1M and 10M reservations (10m; 1m stops at 1M), the same
                                           operations measured at each size, with their query plans

Every figure is a median of repeated runs; every ratio compares figures of the same run. The table and
its notes are printed and written to docs/benchmarks.md with the machine they were measured on, and the
plots bench/plots.py draws from the sections' raw timings to docs/benchmarks/*.png. The scale section,
which the default run skips (the 10M load alone takes a good while), writes docs/benchmarks-scale.md and
docs/benchmarks/scale/*.png instead, which benchmarks.md links to whether or not it ran. Each section's
full output goes to a log folder under /tmp, named at the end.

Exit status 1 when a function's cold start (init and its first request) is over budget against the
framework's own, or its init loads boto3 or botocore.session, an availability target is missed, the
local API answers a 5xx under load, or the race checker finds a double booking, a lost booking, a wrong
status or a 5xx in Reservas (the naive baseline's double bookings are expected and only reported); also
when a section fails to run.

What the section scripts share (Result, summarise, ...) is in bench/common.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench import plots  # noqa: E402
from bench.common import Result, markdown_table, size_label  # noqa: E402

BENCH = ROOT / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"
SCALE_REPORT = ROOT / "docs" / "benchmarks-scale.md"
PLOTS = ROOT / "docs" / "benchmarks"
SCALE_PLOTS = PLOTS / "scale"
SCALES = {"10m": [250_000, 1_000_000, 10_000_000], "1m": [250_000, 1_000_000]}


# --- the sections ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    command: list[str]
    timeout_s: int


def sections(quick: bool, scale: str | None = None) -> list[Section]:
    python = sys.executable
    chosen = [
        Section(
            "cold",
            "Cold start",
            [python, "-u", str(BENCH / "cold_start.py"), *(["--rounds", "5"] if quick else [])],
            600,
        ),
        Section(
            "handlers",
            "Warm handler",
            [
                python,
                "-u",
                str(BENCH / "handlers.py"),
                *(["--runs", "20", "--slow-runs", "3", "--repeats", "2"] if quick else []),
            ],
            900,
        ),
        Section(
            "warm",
            "Warm path",
            [
                python,
                "-u",
                str(BENCH / "warm_path.py"),
                *(["--runs", "100", "--login-runs", "6", "--profile-runs", "100"] if quick else []),
            ],
            600,
        ),
        Section(
            "local",
            "Local API",
            [
                python,
                "-u",
                str(BENCH / "local_api_load.py"),
                "load",
                *(["--seconds", "2"] if quick else []),
            ],
            600,
        ),
        Section(
            "availability",
            "Availability",
            [
                python,
                "-u",
                str(BENCH / "availability.py"),
                *(["--reservations", "100000", "--runs", "200"] if quick else []),
            ],
            900,
        ),
        Section("connections", "Connections", [python, "-u", str(BENCH / "connections.py")], 300),
        Section(
            "race",
            "Race checker",
            [
                python,
                "-u",
                str(BENCH / "local_api_load.py"),
                "race",
                *(["--clients", "8", "--operations", "15"] if quick else []),
            ],
            600,
        ),
    ]
    if scale:
        sizes = ",".join(str(size) for size in SCALES[scale])
        chosen.append(
            Section("scale", "Scale", [python, "-u", str(BENCH / "scale.py"), "--sizes", sizes], 4 * 3600)
        )
    return chosen


def run_section(section: Section, logs: Path, quick: bool) -> tuple[Result, float]:
    log = logs / f"{section.key}.log"
    result_file = logs / f"{section.key}.json"
    command = [*section.command, "--json", str(result_file)]
    started = time.perf_counter()
    print(
        f"[bench] {section.title}: {' '.join(Path(c).name if '/' in c else c for c in command[1:])}",
        file=sys.stderr,
        flush=True,
    )
    # Each section starts a PostgreSQL and a Redis of its own: none adopts DATABASE_URL or REDIS_URL
    # (the availability benchmark needs an empty database, the others write to theirs).
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    with log.open("w") as out:
        try:
            completed = subprocess.run(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=section.timeout_s
            )
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = None
    seconds = time.perf_counter() - started
    output = log.read_text(errors="replace")
    if returncode is None:
        result = Result(failures=[f"{section.title}: did not finish within {section.timeout_s} s"])
    elif result_file.exists():
        result = Result.load(result_file)
        if returncode and not result.failures:
            result.failures.append(f"{section.title}: exited with status {returncode}")
    else:
        tail = " / ".join(line for line in output.splitlines()[-5:] if line.strip())
        result = Result(failures=[f"{section.title}: crashed (exit {returncode}): {tail}"])
    state = "FAILED" if result.failures else "done"
    print(f"[bench] {section.title}: {state} in {seconds:.0f} s (log: {log})", file=sys.stderr, flush=True)
    return result, seconds


# --- the machine -------------------------------------------------------------------------------------


def cpu_model() -> str:
    if shutil.which("lscpu"):
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def redis_version() -> str:
    executable = shutil.which("redis-server")
    if not executable:
        return "no redis-server on PATH"
    output = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"v=(\S+)", output)
    return f"redis-server {match[1]}" if match else output.strip()


def git_commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_lines(meta: dict[str, str], load_before: str, load_after: str, seconds: float) -> list[str]:
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; commit {git_commit()} "
        "(plus whatever was uncommitted in the working tree)",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()})",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- PostgreSQL: {meta.get('postgresql', 'unknown')}",
        f"- Redis: {meta.get('redis') or redis_version()}",
        f"- load average (1/5/15 min): {load_before} before, {load_after} after; "
        f"the whole run took {seconds / 60:.1f} min",
    ]


# --- main --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and 100k reservations")
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default=os.environ.get("BENCH_SCALE") or None,
        help="also the scale section, up to 10M (or 1M) reservations (default: $BENCH_SCALE, else none)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections: cold, handlers, warm, local, availability, connections, race, scale",
    )
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the markdown")
    args = parser.parse_args()
    every = sections(args.quick, args.scale)
    chosen = [s for s in every if not args.only or s.key in args.only.split(",")]
    if not chosen:
        parser.error("--only names no known section (scale needs --scale or BENCH_SCALE)")

    logs = Path(tempfile.mkdtemp(prefix="reservas-bench-"))
    load_before = load_average()
    started = time.perf_counter()
    results: dict[str, Result] = {}
    durations = []
    for section in chosen:
        results[section.key], seconds = run_section(section, logs, args.quick)
        durations.append(f"{section.key} {seconds:.0f} s")
    total = time.perf_counter() - started
    scaled = results.pop("scale", None)
    merged = Result()
    for result in results.values():
        merged.rows += result.rows
        merged.notes += result.notes
        merged.tables += result.tables
        merged.samples.update(result.samples)
        merged.failures += result.failures
        merged.meta.update({k: v for k, v in result.meta.items() if v})
    merged.notes.append(f"Time per section: {', '.join(durations)}. Logs of this run: {logs}.")
    failures = merged.failures + (scaled.failures if scaled else [])
    machine = machine_lines(
        merged.meta or (scaled.meta if scaled else {}), load_before, load_average(), total
    )

    if scaled is not None:
        scale_text = scale_document(scaled, args.scale, machine, durations[-1], draw=args.output == REPORT)
        print(scale_text)
        if args.output == REPORT:
            SCALE_REPORT.write_text(scale_text)
            print(f"(written to {SCALE_REPORT})", file=sys.stderr)
    if not results:
        return 1 if failures else 0

    text = main_document(
        merged, failures, machine, args.quick, scaled is not None, draw=args.output == REPORT
    )
    print(text)
    if {s.key for s in chosen} >= {s.key for s in sections(args.quick)} or args.output != REPORT:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"(written to {args.output})", file=sys.stderr)
    else:
        print(f"(--only: {REPORT.relative_to(ROOT)} left as it was)", file=sys.stderr)
    return 1 if failures else 0


def main_document(
    merged: Result, failures: list[str], machine: list[str], quick: bool, scale_ran: bool, *, draw: bool
) -> str:
    mode = " (--quick: fewer rounds, 100k reservations; not for comparison)" if quick else ""
    connections = [note for note in merged.notes if note.startswith("Connections")]
    notes = [note for note in merged.notes if note not in connections]
    document = [
        f"# Benchmarks{mode}",
        "",
        "Written by `make bench` (`bench/report.py`); every figure below comes from the run described "
        "here. Medians are over repeated runs; ratios compare figures of the same run. How each section "
        "measures is described in the docstring of its script (`bench/*.py`).",
        "",
        *machine,
        "",
        markdown_table(merged.rows),
        "",
        "Notes:",
        "",
        *(f"- {note}" for note in notes),
        *(line for table in merged.tables for line in ("", table)),
    ]
    if failures:
        document += ["", "Failed:", "", *(f"- {failure}" for failure in failures)]
    else:
        document += ["", "Every budget and target above was met."]
    if connections:
        document += [
            "",
            "## Connections",
            "",
            "Each warm Lambda instance holds one database connection (pool_size=1). What is measured on "
            "this machine and what comes from AWS's documentation is said in each point; the table above "
            "has the figures (section Connections).",
            "",
            *(f"- {note.removeprefix('Connections, ')}" for note in connections),
        ]
    document += ["", "## At scale", "", scale_link(scale_ran)]
    images = draw_plots(merged.samples, PLOTS) if draw else []
    if images:
        document += ["", "## Plots", "", *images]
    return "\n".join(document) + "\n"


def scale_link(scale_ran: bool) -> str:
    where = f"[{SCALE_REPORT.name}]({SCALE_REPORT.name})"
    if scale_ran:
        return f"The scale mode ran in this run: {where} has its figures, plots and query plans."
    return (
        f"{where}: the same operations measured at 250k, 1M and 10M reservations in one database "
        "grown step by step, with verdicts by ratio, plots and the query plans. The default `make bench` "
        "does not run it (loading 10M rows takes a while); `BENCH_SCALE=10m make bench` does, and "
        "rewrites that page. It is from its own run, not this one."
    )


def draw_plots(samples: dict[str, dict[str, list[float]]], folder: Path) -> list[str]:
    """Each plot as a markdown image, drawn afresh: the folder's PNGs of an earlier run go first."""
    for old in folder.glob("*.png"):
        old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for title, lines in samples.items():
        path = plots.distributions(title, lines, folder)
        images.append(f"![{title}]({path.relative_to(REPORT.parent)})")
    return images


def scale_document(result: Result, scale: str, machine: list[str], duration: str, *, draw: bool) -> str:
    sizes = {size_label(size): size for size in SCALES[scale]}
    images = []
    if draw:
        images = draw_plots(result.samples, SCALE_PLOTS)
        measures = {title.removeprefix("Scale: "): lines for title, lines in result.samples.items()}
        curves = plots.scale_curves("Latency against table size", measures, sizes, SCALE_PLOTS)
        images.insert(0, f"![Latency against table size]({curves.relative_to(REPORT.parent)})")
    document = [
        f"# Benchmarks at scale (BENCH_SCALE={scale})",
        "",
        f"Written by `BENCH_SCALE={scale} make bench` (`bench/report.py` running `bench/scale.py`, whose "
        "docstring describes the data and each measure); every figure below comes from the run described "
        "here. One database is grown to each size in turn and the same questions are asked at each; "
        "verdicts compare the p50 at the largest size with the p50 at the smallest, measured in the same "
        "run. Absolute figures are informative (other work on the machine moves them), but for the two "
        "targets of issue #20: availability in the database layer p95 <= 5 ms, the search of free spaces "
        "p95 <= 50 ms. Back to [benchmarks.md](benchmarks.md).",
        "",
        *machine,
        f"- this section: {duration}",
        "",
        markdown_table(result.rows),
        "",
        "Notes:",
        "",
        *(f"- {note}" for note in result.notes),
    ]
    if result.failures:
        document += ["", "Failed:", "", *(f"- {failure}" for failure in result.failures)]
    else:
        document += ["", "Every verdict and target above was met."]
    document += ["", "## Plots", "", *images]
    if result.tables:
        document += [
            "",
            f"## Query plans at {list(sizes)[-1]}",
            "",
            "EXPLAIN (ANALYZE, BUFFERS) of every SELECT (and UPDATE) each operation sends, as it sends it "
            "(the SQL, then its parameters), run after the measurements in a transaction rolled back; "
            "INSERTs are not explained (the booking's own row, its hold, the outbox, the audit entry).",
            "",
            *(block + "\n" for block in result.tables),
        ]
    return "\n".join(document) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

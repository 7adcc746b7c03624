"""Benchmark: what one database connection costs, and how many of them the database takes.

    .venv/bin/python bench/connections.py [--connections 50]

Each warm Lambda instance of the API holds one PostgreSQL connection (`database.build_engine`,
pool_size=1), so the number of instances that can run at once is bounded by the database's
max_connections. This starts a throwaway PostgreSQL and Redis, applies the migrations, and opens
--connections engines as the functions build them, each one connected and warmed by a few of the
API's queries (a space, its availability, a user's bookings), then left idle, as a warm instance
waits for its next request. Measured here, on this machine:

- the time to open a connection (connect, SCRAM authentication, the first statement);
- the memory of each idle backend process that the connection alone accounts for: its private memory
  (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup; the shared buffers it touched are not its
  own), and its PSS (proportional set size, shared pages divided among the processes mapping them);
- the local server's max_connections.

What Aurora Serverless v2 and RDS Proxy allow is documented by AWS, not measured here: the notes say
which figure is which (bench/report.py prints them in docs/benchmarks.md, section "Connections").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.common import Result, Row, fmt_ms, summarise  # noqa: E402
from devtools import devservices  # noqa: E402

SECTION = "Connections"
# Documented by AWS (see DOCUMENTED below); the template's own settings are read from template.yaml.
GIB = 2**30
BYTES_PER_CONNECTION = 9_531_392  # Aurora PostgreSQL's default: LEAST(DBInstanceClassMemory / 9531392, 5000)
CAP = 5_000
CAP_WITH_SMALL_MINIMUM = 2_000  # with a minimum of 0 or 0.5 ACU
GIB_PER_ACU = 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50, help="idle connections to open (default 50)")
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    return parser.parse_args()


def smaps_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        values[key] = int(value.split()[0])
    return values


def template_settings() -> dict[str, str]:
    """The data tier's capacity and RDS Proxy settings, as template.yaml has them."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation's short forms
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 (SafeLoader)
    parameters = template["Parameters"]
    proxy = template["Resources"]["DataTierProxy"]["Properties"]
    pool = template["Resources"]["DataTierProxyTargets"]["Properties"]["ConnectionPoolConfigurationInfo"]
    return {
        "min_acu": str(parameters["DatabaseMinCapacity"]["Default"]),
        "max_acu": str(parameters["DatabaseMaxCapacity"]["Default"]),
        "max_connections_percent": str(pool["MaxConnectionsPercent"]),
        "max_idle_percent": str(pool["MaxIdleConnectionsPercent"]),
        "borrow_timeout": str(pool["ConnectionBorrowTimeout"]),
        "idle_client_timeout": str(proxy["IdleClientTimeout"]),
    }


def aurora_max_connections(max_acu: float, min_acu: float) -> int:
    """The documented default formula, with the memory of the maximum capacity; an upper estimate (the
    instance's DBInstanceClassMemory is somewhat below its nominal memory)."""
    by_memory = int(max_acu * GIB_PER_ACU * GIB / BYTES_PER_CONNECTION)
    return min(by_memory, CAP_WITH_SMALL_MINIMUM if min_acu <= 0.5 else CAP)


def main() -> int:
    args = parse_args()
    return devservices.serving(lambda services: run(args, services))


def run(args: argparse.Namespace, services: devservices.Services) -> int:
    from sqlalchemy import text

    from reservas.database import build_engine, get_engine
    from reservas.migrations import upgrade
    from reservas.reservations import repository as reservations
    from reservas.spaces import repository as spaces

    upgrade(get_engine())
    with get_engine().connect() as db:
        max_connections = int(db.execute(text("SHOW max_connections")).scalar_one())
        postgres = db.execute(text("SELECT version()")).scalar_one().split(" on ")[0]
        baseline = db.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        ).scalar_one()
    get_engine().dispose()

    engines, pids, connect_seconds = [], [], []
    now = datetime.now(UTC)
    for _ in range(args.connections):
        engine = build_engine(services.database_url, timeout_seconds=10)
        started = time.perf_counter()
        with engine.connect() as db:
            pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
            connect_seconds.append(time.perf_counter() - started)
            space_id = uuid4()
            spaces.find_space(db, space_id)
            spaces.held_intervals(db, space_id, now, now + timedelta(days=1))
            reservations.search(
                db,
                user_id=uuid4(),
                space_id=None,
                status=None,
                starts_before=None,
                ends_after=now,
                text=None,
                after=None,
                limit=21,
            )
        engines.append(engine)
        pids.append(pid)
    time.sleep(1)
    memory = [smaps_kib(pid) for pid in pids]
    private_kib = [m["Private_Clean"] + m["Private_Dirty"] for m in memory]
    pss_kib = [m["Pss"] for m in memory]
    for engine in engines:
        engine.dispose()

    settings = template_settings()
    min_acu, max_acu = float(settings["min_acu"]), float(settings["max_acu"])
    documented = aurora_max_connections(max_acu, min_acu)
    through_proxy = documented * int(settings["max_connections_percent"]) // 100
    p50, p95 = summarise(connect_seconds)
    private_mib = statistics.median(private_kib) / 1024
    pss_mib = statistics.median(pss_kib) / 1024
    result = Result()
    measured = f"measured, {args.connections} connections"
    result.rows += [
        Row(SECTION, f"open a connection as the functions do ({measured})", fmt_ms(p50), fmt_ms(p95)),
        Row(
            SECTION,
            f"memory of an idle, warmed backend ({measured}; median)",
            f"{private_mib:.1f} MiB private",
            "-",
            f"PSS {pss_mib:.1f} MiB; max {max(private_kib) / 1024:.1f} MiB private",
        ),
        Row(
            SECTION,
            "max_connections of this local PostgreSQL (measured)",
            str(max_connections),
            "-",
            f"{max_connections - baseline - 3} for the functions (3 reserved for superusers)",
        ),
        Row(
            SECTION,
            f"Aurora Serverless v2 max_connections at the template's {settings['min_acu']}-"
            f"{settings['max_acu']} ACU (documented formula)",
            f"about {documented}",
            "-",
            f"at most about {documented} warm function instances at once without RDS Proxy",
        ),
        Row(
            SECTION,
            "RDS Proxy's connections to Aurora (template's MaxConnectionsPercent "
            f"{settings['max_connections_percent']})",
            f"about {through_proxy}",
            "-",
            f"lent per transaction; waits up to {settings['borrow_timeout']} s (ConnectionBorrowTimeout)",
        ),
    ]
    result.notes += [
        f"Connections, measured here: {args.connections} engines built as the functions build them "
        "(`database.build_engine`, pool_size=1), each connected and warmed by three of the API's queries, "
        f"then idle. Opening one (connect, SCRAM, first statement) took {fmt_ms(p50)} at p50 over a Unix "
        "socket (over TLS to RDS Proxy add the network round trips and the TLS handshake). Each idle backend "
        f"holds {private_mib:.1f} MiB of its own memory (median; PSS {pss_mib:.1f} MiB, shared buffers "
        f"shared among the processes), so {args.connections} idle connections cost about "
        f"{private_mib * args.connections:.0f} MiB on this machine, and 1,000 would cost about "
        f"{private_mib * 1000 / 1024:.1f} GiB of the server's memory.",
        "Connections, documented by AWS (not measured here): Aurora PostgreSQL's default max_connections is "
        "LEAST(DBInstanceClassMemory / 9531392, 5000); for Aurora Serverless v2 the memory is that of the "
        "maximum capacity (about 2 GiB per ACU), and with a minimum capacity of 0 or 0.5 ACU "
        "max_connections is capped at 2,000 (AWS re:Post, 'Working of max_connections for Amazon Aurora "
        "PostgreSQL Serverless', "
        "which gives 189 at 0.5-1 ACU and 3,360 at 1-16 ACU; the table in the Aurora User Guide, "
        "aurora-serverless-v2.setting-capacity, 'Maximum connections for Aurora Serverless v2'). Changing "
        "the range needs a reboot to change max_connections.",
        f"Connections, what it means for Reservas: at the template's default {settings['min_acu']} to "
        f"{settings['max_acu']} ACU the formula gives about {documented} connections, an upper estimate: "
        "the instance's DBInstanceClassMemory is below its nominal memory (re:Post's 189 at 1 ACU is 84% "
        f"of the formula's {aurora_max_connections(1, min_acu)}; by that share about "
        f"{documented * 84 // 100}). A few are reserved for superusers and RDS. Without a proxy, every "
        "warm instance of the API functions, the workers and the scheduled functions holds one, whether it "
        "serves a request or not: Lambda's default concurrency of 1,000 per Region is already more than "
        "that, and the instances beyond it fail to connect ('too many clients already'). The remedy the "
        "template has is RDS Proxy (CreateDataTier=true): the functions connect to the proxy, which lends "
        f"its at most {settings['max_connections_percent']}% of max_connections (about {through_proxy}; "
        f"MaxIdleConnectionsPercent {settings['max_idle_percent']}) to a client only while a transaction "
        f"runs; a client waits at most ConnectionBorrowTimeout = {settings['borrow_timeout']} s for one "
        "before its query fails, and idle client connections are closed after IdleClientTimeout = "
        f"{settings['idle_client_timeout']} s. A session that sets state the proxy cannot track (SET, "
        "temporary tables, advisory locks held across transactions) is pinned to its database connection "
        "and loses that sharing. Raising the maximum ACU raises max_connections (and the cost).",
    ]
    result.meta["postgresql"] = postgres
    result.print_markdown()
    result.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

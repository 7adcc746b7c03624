"""A race checker in the spirit of Jepsen, bounded in time and count, on loopback only.

N clients book, cancel and re-book overlapping intervals in a few spaces through the local API at the
same time, and every request and answer goes into a history. Then the history is checked against the
database: every 201 that was acknowledged exists (and is cancelled exactly when a cancellation was
acknowledged), no two active reservations of a space overlap, and no answer was a 5xx.

The same workload also runs against a naive booking that checks for a clash and then inserts (what
LibreBooking, Seatsurfing and Easy!Appointments do), on a copy of the table without the exclusion
constraint, to count the double bookings that approach lets through.

    from bench.race_checker import Workload, run_against_api, check, run_naive_baseline
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Workload:
    spaces: list[str]
    first_start: datetime  # on the spaces' slot grid, inside their opening hours
    clients: int = 8
    operations_per_client: int = 25
    candidate_starts: int = 8  # 30-minute steps from first_start: few, so that clients collide
    max_seconds: float = 120
    seed: int = 7

    def interval(self, rng: random.Random) -> tuple[datetime, datetime]:
        start = self.first_start + timedelta(minutes=30 * rng.randrange(self.candidate_starts))
        return start, start + timedelta(minutes=30 * rng.choice((1, 2, 3)))


@dataclass
class History:
    events: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **event) -> None:
        with self.lock:
            self.events.append(event)

    def count(self, op: str, status: int) -> int:
        return sum(1 for e in self.events if e["op"] == op and e["status"] == status)


Book = Callable[[int, str, datetime, datetime], tuple[int, str | None]]
Cancel = Callable[[int, str], int]


def run(workload: Workload, book: Book, cancel: Cancel) -> History:
    """Each client books random intervals and now and then cancels one of its own bookings."""
    history = History()
    deadline = time.monotonic() + workload.max_seconds

    def client(number: int) -> None:
        rng = random.Random(workload.seed * 1000 + number)
        mine: list[str] = []
        for _ in range(workload.operations_per_client):
            if time.monotonic() > deadline:
                return
            if mine and rng.random() < 0.3:
                reservation_id = mine.pop(rng.randrange(len(mine)))
                history.add(
                    op="cancel", client=number, id=reservation_id, status=cancel(number, reservation_id)
                )
                continue
            space = rng.choice(workload.spaces)
            start, end = workload.interval(rng)
            status, reservation_id = book(number, space, start, end)
            history.add(
                op="book", client=number, space=space, start=start, end=end, status=status, id=reservation_id
            )
            if status == 201 and reservation_id:
                mine.append(reservation_id)

    with ThreadPoolExecutor(max_workers=workload.clients) as pool:
        list(pool.map(client, range(workload.clients)))
    return history


def run_against_api(workload: Workload, base_url: str, tokens: list[str]) -> History:
    import httpx2 as httpx

    clients = [httpx.Client(base_url=base_url, timeout=30) for _ in tokens]

    def book(number: int, space: str, start: datetime, end: datetime) -> tuple[int, str | None]:
        body = {"space_id": space, "start_time": start.isoformat(), "end_time": end.isoformat()}
        response = clients[number].post("/reservations", json=body, headers=_auth(tokens[number]))
        return response.status_code, response.json().get("id") if response.status_code == 201 else None

    def cancel(number: int, reservation_id: str) -> int:
        return (
            clients[number]
            .delete(f"/reservations/{reservation_id}", headers=_auth(tokens[number]))
            .status_code
        )

    try:
        return run(workload, book, cancel)
    finally:
        for client in clients:
            client.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Verdict:
    acknowledged_bookings: int
    refused_bookings: int
    cancellations: int
    lost_bookings: list[str]
    wrong_status: list[str]
    overlapping_pairs: int
    server_errors: int

    @property
    def ok(self) -> bool:
        return (
            not self.lost_bookings
            and not self.wrong_status
            and not self.overlapping_pairs
            and not self.server_errors
        )


def check(history: History, engine: Engine, table: str = "reservations") -> Verdict:
    acknowledged = {e["id"] for e in history.events if e["op"] == "book" and e["status"] == 201}
    cancelled = {e["id"] for e in history.events if e["op"] == "cancel" and e["status"] == 200}
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                text(f"SELECT id::text, status FROM {table} WHERE id = ANY(CAST(:ids AS uuid[]))"),  # noqa: S608
                {"ids": list(acknowledged)},
            ).all()
        )
    lost = sorted(acknowledged - set(stored))
    wrong = sorted(i for i, status in stored.items() if (status == "cancelled") != (i in cancelled))
    return Verdict(
        acknowledged_bookings=len(acknowledged),
        refused_bookings=history.count("book", 409),
        cancellations=len(cancelled),
        lost_bookings=lost,
        wrong_status=wrong,
        overlapping_pairs=overlapping_pairs(engine, table),
        server_errors=sum(1 for e in history.events if e["status"] >= 500),
    )


def overlapping_pairs(engine: Engine, table: str = "reservations") -> int:
    with engine.connect() as connection:
        return connection.execute(
            text(
                f"SELECT count(*) FROM {table} a JOIN {table} b ON a.space_id = b.space_id AND a.id < b.id "  # noqa: S608
                "AND a.status = 'active' AND b.status = 'active' "
                "AND tstzrange(a.start_time, a.end_time) && tstzrange(b.start_time, b.end_time)"
            )
        ).scalar_one()


NAIVE_TABLE = "naive_reservations"


def run_naive_baseline(workload: Workload, engine: Engine) -> Verdict:
    """The same workload against check-then-insert on a table with no exclusion constraint."""
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {NAIVE_TABLE}"))
        connection.execute(
            text(
                f"CREATE TABLE {NAIVE_TABLE} (id uuid PRIMARY KEY, space_id uuid NOT NULL, "
                "start_time timestamptz NOT NULL, end_time timestamptz NOT NULL, status text NOT NULL)"
            )
        )

    def book(_: int, space: str, start: datetime, end: datetime) -> tuple[int, str | None]:
        with engine.begin() as connection:  # READ COMMITTED, PostgreSQL's default, like the systems above
            clash = connection.execute(
                text(
                    f"SELECT 1 FROM {NAIVE_TABLE} WHERE space_id = :space AND status = 'active' "  # noqa: S608
                    "AND start_time < :end AND end_time > :start LIMIT 1"
                ),
                {"space": space, "start": start, "end": end},
            ).first()
            if clash:
                return 409, None
            reservation_id = str(uuid.uuid4())
            connection.execute(
                text(f"INSERT INTO {NAIVE_TABLE} VALUES (:id, :space, :start, :end, 'active')"),  # noqa: S608
                {"id": reservation_id, "space": space, "start": start, "end": end},
            )
            return 201, reservation_id

    def cancel(_: int, reservation_id: str) -> int:
        with engine.begin() as connection:
            connection.execute(
                text(f"UPDATE {NAIVE_TABLE} SET status = 'cancelled' WHERE id = :id"),  # noqa: S608
                {"id": reservation_id},
            )
        return 200

    return check(run(workload, book, cancel), engine, NAIVE_TABLE)

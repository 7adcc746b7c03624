"""Demo data for local runs: an admin, a user and a handful of spaces. Safe to run again: it adds
only what is missing, and prints passwords only for the accounts it creates."""

from __future__ import annotations

import secrets
import string
from decimal import Decimal

from sqlalchemy import Engine, insert, select

from reservas.accounts import repository
from reservas.passwords import hash_password
from reservas.spaces.schemas import SpaceSettings
from reservas.tables import spaces

DEMO_ACCOUNTS = [
    ("admin@reservas.example", "Demo Admin", "admin"),
    ("user@reservas.example", "Demo User", "user"),
]

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
EVERY_DAY = [*WEEKDAYS, "sat", "sun"]

DEMO_SPACES = [
    {
        "name": "Sala Retiro",
        "description": "Meeting room for eight with a view of the park.",
        "capacity": 8,
        "location": "Madrid, floor 3",
        "amenities": ["projector", "whiteboard", "video-conference"],
        "timezone": "Europe/Madrid",
        "opening_hours": {day: [["08:00", "14:00"], ["15:00", "20:00"]] for day in WEEKDAYS},
        "price_per_hour": Decimal("25.00"),
        "currency": "EUR",
    },
    {
        "name": "Hudson Desk 12",
        "description": "A quiet hot desk by the window.",
        "capacity": 1,
        "location": "New York, floor 7",
        "amenities": ["monitor", "standing-desk"],
        "timezone": "America/New_York",
        "opening_hours": {day: [["07:00", "19:00"]] for day in WEEKDAYS},
        "price_per_hour": Decimal("8.50"),
        "currency": "USD",
        "slot_minutes": 60,
        "min_duration_minutes": 60,
    },
    {
        "name": "Lab 24",
        "description": "Electronics lab, open around the clock.",
        "capacity": 4,
        "location": "Madrid, basement",
        "amenities": ["oscilloscope", "soldering-station"],
        "timezone": "Europe/Madrid",
        "opening_hours": {day: [["00:00", "24:00"]] for day in EVERY_DAY},
        "price_per_hour": Decimal("40.00"),
        "currency": "EUR",
        "max_duration_minutes": 720,
    },
    {
        "name": "Padel Court 1",
        "description": "Covered padel court.",
        "capacity": 4,
        "location": "Valencia sports centre",
        "amenities": ["lights", "changing-rooms"],
        "timezone": "Europe/Madrid",
        "opening_hours": {
            **{day: [["09:00", "23:00"]] for day in WEEKDAYS},
            "sat": [["08:00", "24:00"]],
            "sun": [["08:00", "14:00"]],
        },
        "price_per_hour": Decimal("18.00"),
        "currency": "EUR",
        "slot_minutes": 30,
        "min_duration_minutes": 60,
        "max_duration_minutes": 120,
        "max_advance_days": 14,
    },
    {
        "name": "Shibuya Focus Room",
        "description": "Phone booth for one.",
        "capacity": 1,
        "location": "Tokyo, floor 2",
        "amenities": ["soundproof"],
        "timezone": "Asia/Tokyo",
        "opening_hours": {day: [["09:00", "21:00"]] for day in EVERY_DAY},
        "price_per_hour": Decimal("1200"),
        "currency": "JPY",
        "slot_minutes": 15,
        "min_duration_minutes": 15,
        "max_duration_minutes": 120,
    },
]


def demo_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Demo-" + "".join(secrets.choice(alphabet) for _ in range(12)) + "7A"


def seed(engine: Engine) -> list[tuple[str, str, str]]:
    """Create what is missing; return (email, password, role) of the accounts created now."""
    created = []
    with engine.connect() as db:
        for email, name, role in DEMO_ACCOUNTS:
            password = demo_password()
            row = repository.insert_user(
                db, email=email, password_hash=hash_password(password), name=name, role=role, verified=True
            )
            if row is not None:
                created.append((email, password, role))
        existing = set(db.scalars(select(spaces.c.name)))
        missing = [
            SpaceSettings(**space).model_dump() for space in DEMO_SPACES if space["name"] not in existing
        ]
        if missing:
            db.execute(insert(spaces), missing)
        db.commit()
    return created

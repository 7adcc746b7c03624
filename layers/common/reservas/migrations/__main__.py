"""`python -m reservas.migrations upgrade [revision]`: apply migrations to the configured database."""

import sys

from reservas.credentials import get_database_url
from reservas.database import build_engine
from reservas.migrations import current_revision, upgrade


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"upgrade", "current"}:
        print("usage: python -m reservas.migrations upgrade [revision] | current", file=sys.stderr)
        return 2
    engine = build_engine(get_database_url())
    if argv[0] == "upgrade":
        upgrade(engine, argv[1] if len(argv) > 1 else "head")
    print(current_revision(engine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

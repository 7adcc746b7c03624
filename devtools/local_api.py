"""`make dev`: the whole API on http://127.0.0.1:3000, as `sam local start-api` serves it, without Docker.

Starts (or adopts) PostgreSQL and Redis, applies the migrations, seeds demo data, then turns each
HTTP request into an API Gateway payload-v2 event for the function that template.yaml routes it to."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from devtools import devservices, local_events  # noqa: E402

STATE_DIR = ROOT / ".local"
CREDENTIALS_FILE = STATE_DIR / "demo-credentials.txt"
JWT_KEY_FILE = STATE_DIR / "jwt-key"


def local_jwt_key() -> str:
    """A random key kept in .local/, so tokens survive a restart of `make dev`."""
    if not JWT_KEY_FILE.exists():
        JWT_KEY_FILE.write_text(secrets.token_urlsafe(48))
        JWT_KEY_FILE.chmod(0o600)
    return JWT_KEY_FILE.read_text().strip()


def main() -> int:
    # Ctrl-C stops it, also when it was started by a job a shell put in the background: such a job
    # inherits SIGINT ignored, and Python keeps an inherited "ignore".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--no-seed", action="store_true", help="do not create demo accounts and spaces")
    parser.add_argument(
        "--cors-origins",
        default=os.environ.get("CORS_ORIGINS", ""),
        metavar="ORIGINS",
        help="comma-separated origins of web pages that may call the API (the template's CorsAllowOrigins)",
    )
    parser.add_argument(
        "--no-schedules",
        action="store_true",
        help="do not run the scheduled functions (the release of no-shows, the outbox sweep)",
    )
    parser.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep nothing: PostgreSQL's data in a temporary folder, nothing written to .local/",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO)  # one line per request, as `sam local` prints

    print("==> Starting PostgreSQL and Redis (the first start initialises a database)", flush=True)
    if args.ephemeral:
        services = devservices.start(data_dir=None)
        jwt_key = secrets.token_urlsafe(48)
    else:
        STATE_DIR.mkdir(exist_ok=True)
        services = devservices.start(data_dir=STATE_DIR / "pgdata")
        jwt_key = local_jwt_key()
    mail_folder = Path(
        os.environ.get("RESERVAS_MAIL_FOLDER")
        or (tempfile.mkdtemp(prefix="reservas-mail-") if args.ephemeral else STATE_DIR / "mail")
    )
    devservices.configure_environment(
        services,
        jwt_key,
        RESERVAS_EVENT_BUS_NAME=local_events.BUS_NAME,
        # Nothing is sent out: messages land in this folder, one .eml file each.
        RESERVAS_MAIL_FOLDER=str(mail_folder),
        RESERVAS_MAIL_FROM="reservas@localhost",
        RESERVAS_PUBLIC_URL=os.environ.get("RESERVAS_PUBLIC_URL", f"http://{args.host}:{args.port}"),
    )

    from devtools import apigw, seed
    from reservas.database import build_engine
    from reservas.migrations import upgrade

    print("==> Applying the migrations" + ("" if args.no_seed else " and the demo data"), flush=True)
    engine = build_engine(services.database_url)
    upgrade(engine)
    created = [] if args.no_seed else seed.seed(engine)
    engine.dispose()
    print("==> Starting the local API Gateway (SAM CLI's, with the template's routes)", flush=True)

    lines = [f"{role:5}  {email}  {password}" for email, password, role in created]
    if created and not args.ephemeral:
        CREDENTIALS_FILE.write_text("\n".join(lines) + "\n")
        CREDENTIALS_FILE.chmod(0o600)

    try:
        service, api, runner = apigw.create_service(
            host=args.host, port=args.port, parameters={"CorsAllowOrigins": args.cors_origins}
        )
        bus = start_events(runner, schedules=not args.no_schedules)
    except ValueError as error:  # parameter values CloudFormation would refuse
        print(f"error: {error}", file=sys.stderr)
        services.stop()
        return 2
    except BaseException:
        services.stop()
        raise
    print(f"PostgreSQL: {services.database_origin}")
    print(f"Redis:      {services.redis_origin}")
    print(f"Mail:       {mail_folder} (what would be sent: verification links and the rest)")
    if created:
        kept = "" if args.ephemeral else "; also in .local/demo-credentials.txt"
        print(f"Demo accounts created (shown once{kept}):")
        print("".join("  " + line + "\n" for line in lines), end="")
    elif not args.no_seed:
        print(f"Demo accounts: see {CREDENTIALS_FILE.relative_to(ROOT)}")
    print(
        f"{sum(len(set(route.methods) - {'OPTIONS'}) for route in api.routes)} routes from template.yaml. "
        f"Try: curl http://{args.host}:{args.port}/auth/health"
    )
    print(f"Reservas local API on http://{args.host}:{args.port}  (Ctrl-C stops everything)", flush=True)
    from samcli.local.docker.exceptions import ProcessSigTermException

    try:
        service.run()
    except (KeyboardInterrupt, ProcessSigTermException):
        pass
    finally:
        bus.stop()
        services.stop()
    return 0


def start_events(runner, *, schedules: bool) -> local_events.LocalEvents:
    """The template's event rules and schedules, run in this process (devtools/local_events.py)."""
    from devtools import apigw
    from reservas import events
    from reservas.database import get_engine

    bus = local_events.LocalEvents(apigw.load_stacks()[0].template_dict, runner.invoke_event)
    if not schedules:
        bus.schedules = []
    events.client = lambda patient=True: (
        bus
    )  # the local bus stands where boto3's EventBridge client stands in AWS
    runner.after_response = local_events.published_after_each_request(get_engine)
    bus.start()
    return bus


if __name__ == "__main__":
    raise SystemExit(main())

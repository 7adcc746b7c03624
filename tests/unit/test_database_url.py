"""The URLs users have become pg8000 connections."""

import ssl

import pytest

from reservas.database import pg8000_url


def test_a_plain_url_uses_pg8000():
    url, connect_args = pg8000_url("postgresql://app:secret@db.example.com:5433/reservas")
    assert url.drivername == "postgresql+pg8000"
    assert (url.host, url.port, url.database, url.username) == ("db.example.com", 5433, "reservas", "app")
    assert connect_args == {}


def test_postgres_scheme_and_explicit_driver_are_accepted():
    assert pg8000_url("postgres://a@h/d")[0].drivername == "postgresql+pg8000"
    assert pg8000_url("postgresql+psycopg://a@h/d")[0].drivername == "postgresql+pg8000"


def test_a_socket_directory_becomes_pg8000s_unix_sock():
    url, _ = pg8000_url("postgresql://postgres:@/postgres?host=/tmp/pg")
    assert url.query == {"unix_sock": "/tmp/pg/.s.PGSQL.5432"}
    assert url.host is None


@pytest.mark.parametrize(("mode", "verifies"), [("require", False), ("verify-full", True)])
def test_sslmode_becomes_an_ssl_context(mode, verifies):
    url, connect_args = pg8000_url(f"postgresql://a:b@h/d?sslmode={mode}")
    assert "sslmode" not in url.query
    context = connect_args["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode == ssl.CERT_REQUIRED) is verifies


def test_other_databases_are_refused():
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        pg8000_url("mysql://a@h/d")

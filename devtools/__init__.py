"""What runs Reservas on a laptop: the local API, API Gateway's events, PostgreSQL and Redis, demo data."""

"""/reservations: only the health check so far."""

from reservas.app_factory import create_app, lambda_handler

app = create_app("reservations")
handler = lambda_handler(app)

"""/spaces: only the health check so far."""

from reservas.app_factory import create_app, lambda_handler

app = create_app("spaces")
handler = lambda_handler(app)

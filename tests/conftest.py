"""Settings every test shares. Set before anything imports `reservas`, whose settings are read once."""

import os

TEST_JWT_KEY = "test-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz"

os.environ.update(
    {
        "RESERVAS_STAGE": "test",
        "RESERVAS_JWT_SECRET": TEST_JWT_KEY,
        # Cost 4 keeps the suite fast; a test checks that the default stays 12.
        "RESERVAS_BCRYPT_ROUNDS": "4",
        "RESERVAS_DB_POOL_SIZE": "20",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
)
for name in ("RESERVAS_JWT_SECRET_ARN", "RESERVAS_DATABASE_SECRET_ARN", "RESERVAS_CORS_ORIGINS"):
    os.environ.pop(name, None)

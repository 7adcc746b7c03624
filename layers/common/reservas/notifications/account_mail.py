"""The messages about an account itself, in the person's language (`preferences.locale`: en, es)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from reservas.settings import get_settings

TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "verify": {
            "subject": "Verify your address for Reservas",
            "body": (
                "Hello {name},\n\n"
                "To start booking with Reservas, verify that this address is yours: open the link below\n"
                "and confirm with the password you chose.\n\n{link}\n\n"
                "The link works once, for {hours} hours. If you did not register, ignore this message:\n"
                "no account is made without it.\n"
            ),
        },
        "reset": {
            "subject": "Choose a new password for Reservas",
            "body": (
                "Hello {name},\n\n"
                "Someone (we hope you) asked to reset your password. Choose a new one here:\n\n{link}\n\n"
                "The link works once, for {minutes} minutes, and signs you out everywhere. If you did\n"
                "not ask, ignore this message: your password stays as it is.\n"
            ),
        },
        "address-taken": {
            "subject": "Someone tried to register your address with Reservas",
            "body": (
                "Hello {name},\n\n"
                "Someone tried to register a new account with this address, which already has one.\n"
                "Nothing has changed. If it was you, sign in as usual, or choose a new password\n"
                "if you forgot it: {reset_link}\n"
            ),
        },
    },
    "es": {
        "verify": {
            "subject": "Verifica tu dirección en Reservas",
            "body": (
                "Hola, {name}:\n\n"
                "Para empezar a reservar con Reservas, verifica que esta dirección es tuya: abre el enlace\n"
                "y confirma con la contraseña que elegiste.\n\n{link}\n\n"
                "El enlace sirve una vez, durante {hours} horas. Si no te registraste, ignora este\n"
                "mensaje: sin él no se crea ninguna cuenta.\n"
            ),
        },
        "reset": {
            "subject": "Elige una contraseña nueva en Reservas",
            "body": (
                "Hola, {name}:\n\n"
                "Alguien (esperamos que tú) pidió restablecer tu contraseña. Elige una nueva aquí:\n\n"
                "{link}\n\n"
                "El enlace sirve una vez, durante {minutes} minutos, y cierra tus sesiones en todas\n"
                "partes. Si no lo pediste, ignora este mensaje: tu contraseña no cambia.\n"
            ),
        },
        "address-taken": {
            "subject": "Alguien intentó registrar tu dirección en Reservas",
            "body": (
                "Hola, {name}:\n\n"
                "Alguien intentó crear una cuenta nueva con esta dirección, que ya tiene una.\n"
                "No ha cambiado nada. Si fuiste tú, entra como siempre, o elige una contraseña nueva\n"
                "si la olvidaste: {reset_link}\n"
            ),
        },
    },
}

PAGES = {"verify": "/verify", "reset": "/reset-password"}


def locale_of(preferences: dict[str, Any]) -> str:
    locale = preferences.get("locale")
    return locale if isinstance(locale, str) and locale in TEXTS else "en"


def link(page: str, **query: str) -> str:
    """A link to the web page (RESERVAS_PUBLIC_URL); the token travels in the query."""
    base = (get_settings().public_url or "").rstrip("/")
    return f"{base}{page}" + (f"?{urlencode(query)}" if query else "")


def message(
    kind: str, to: str, name: str, preferences: dict[str, Any], token: str | None = None
) -> EmailMessage:
    settings = get_settings()
    texts = TEXTS[locale_of(preferences)][kind]
    body = texts["body"].format(
        name=name,
        link=link(PAGES[kind], token=token) if token else "",
        reset_link=link("/forgot-password"),
        hours=settings.verification_hours,
        minutes=settings.password_reset_minutes,
    )
    if token:
        body += f"\n(Code / código: {token})\n"
    mail = EmailMessage()
    mail["To"] = to
    mail["Subject"] = texts["subject"]
    mail.set_content(body)
    return mail

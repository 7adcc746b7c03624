"""Reservas: the shared package of every function (settings, data access, security, errors, web plumbing)."""

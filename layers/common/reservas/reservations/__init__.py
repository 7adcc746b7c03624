"""Reservations: booking without double booking, reading, searching and cancelling."""

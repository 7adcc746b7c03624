"""Accounts: registration, login and the user profile."""

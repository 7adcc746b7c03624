"""Spaces: the catalogue, opening hours in each space's time zone, and free time."""

"""Email people are sent because of an event, once per event and person (functions/notify)."""

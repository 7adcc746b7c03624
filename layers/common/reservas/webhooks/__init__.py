"""Webhooks: admins register HTTPS endpoints for chosen event types; each event is delivered to them
signed as the Standard Webhooks specification says, retried for about a day, then kept as dead for an
admin to replay.

- addresses: which URLs may be registered and reached (SSRF), checked again at every attempt;
- signing: the Standard Webhooks headers;
- delivery: an event's deliveries, one attempt, the retry schedule and its sweep, replay;
- registry: what admins do (create, list, delete, rotate the secret, send a test event);
- schemas: what the routes read and answer."""

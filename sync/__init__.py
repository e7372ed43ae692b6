"""Offline sync: outbox client, sync protocol, central HTTP service and enrollment."""

"""Delivery: the outbox, the worker and channel adapters (email, SMS, print)."""

"""Idempotency keys: a retried request returns the first reply and changes nothing."""

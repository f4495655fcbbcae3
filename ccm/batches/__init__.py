"""Batches: many documents in one request, rendered in the background, resumable."""

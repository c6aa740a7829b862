"""Metrics (SQL aggregates) and the documents built on them: reports, bulletins."""

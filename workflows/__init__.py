"""Prefect flows over the domain services, the job table, and the embedded scheduler."""

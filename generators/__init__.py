"""Seeded instance generators, one module per task family; each declares its tasks in a ``TASKS`` tuple."""

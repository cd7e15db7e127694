"""Task metrics on top of the validators, and aggregation of verdicts."""

"""Exact-answer checkers: parse a prediction, check it against a row's reference, say why."""

"""Aggregate reports for administrators and auditors: counts, never a person."""

"""Operations: request ids, JSON logs, Prometheus metrics, health and readiness.

Everything here is about watching the service, never about its data: no module reads or
logs a resident's record, and metric labels are route templates, never raw paths.
"""

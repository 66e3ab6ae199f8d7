"""Email to residents: an outbox in the database, drained to SMTP off the request path."""

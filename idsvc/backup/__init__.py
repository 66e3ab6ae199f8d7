"""Encrypted backup and restore of the database and the keys directory.

`archive` seals a byte stream under a passphrase, `bundle` lays the parts out inside it,
`rows` writes table rows in a form both SQLite and PostgreSQL read back, and `service`
takes the snapshot and restores it.
"""

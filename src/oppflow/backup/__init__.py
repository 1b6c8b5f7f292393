"""Backup and restore: the database (SQLite's online backup, or ``pg_dump``'s custom format)
and the stored files, in one archive with a manifest of row counts and file checksums that a
restore checks against what it wrote."""

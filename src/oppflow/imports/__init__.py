"""Imports of accounts, contacts and opportunities from CSV or JSON lines (issue 12)."""

"""Exports of the tables a caller may read (issue 12); the CSV writer every CSV output shares."""

"""Opportunity lines, quotes and their lifecycle (issue 10)."""

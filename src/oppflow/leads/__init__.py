"""Leads and their qualification into accounts, contacts and opportunities."""

"""Accounts, contacts, competitors and opportunities: the records a sales team works on."""

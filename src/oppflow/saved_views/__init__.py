"""Saved views of the opportunity list: each user's named filters, sort and chosen columns."""

"""Outgoing e-mail through the SMTP server of ``OPPFLOW_SMTP_URL``."""

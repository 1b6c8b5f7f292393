"""The web pages: Jinja2 pages on the same services as the API (``mount`` adds them)."""

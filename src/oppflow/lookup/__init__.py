"""Type-ahead search over the records a caller may read: accounts, contacts, competitors, users."""

"""Users, authentication, and the scope of what each caller may read and change."""

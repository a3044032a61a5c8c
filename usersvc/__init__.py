"""usersvc: accounts, sessions and identity tokens."""

"""The command-line client for internal users: `neutone --help`."""

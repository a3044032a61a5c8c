"""The subcommands, one module per service: each module's `register` adds its own."""

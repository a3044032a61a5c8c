"""The small runtime shared by every Neutone service: settings, the gRPC server
bootstrap and its interceptors, identity tokens, errors, the database layer and
clients for calling other services."""

"""The browser's door: a grpc-web <-> gRPC bridge with cookie sessions, the payment
webhook endpoint, signed media for the filesystem store, and the built web app."""

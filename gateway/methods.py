"""Which RPCs browsers may call, and where each one goes.

The allowlist comes from the contracts: exactly the RPCs whose `(neutone.v1.access)`
option is PUBLIC or USER. SERVICE RPCs (AuthenticateSession, ReserveCredits,
ApplyPaymentEvent, ...) are absent, so the bridge answers them like an unknown method."""

from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor

from neutone.v1 import access_pb2, billing_service_pb2, song_service_pb2, user_service_pb2
from runtime.interceptors import Access, access_levels

BROWSER_ACCESS = frozenset({access_pb2.ACCESS_PUBLIC, access_pb2.ACCESS_USER})
CONTRACTS: tuple[FileDescriptor, ...] = (
    user_service_pb2.DESCRIPTOR,
    billing_service_pb2.DESCRIPTOR,
    song_service_pb2.DESCRIPTOR,
)


@dataclass(frozen=True, slots=True)
class BridgedMethod:
    # The full method name, which is also the grpc-web request path.
    path: str
    access: Access
    server_streaming: bool
    # The upstream service's full name, e.g. "neutone.v1.SongService".
    service: str
    # False for the RPCs whose contract declares `idempotency_level = NO_SIDE_EFFECTS`.
    side_effects: bool
    # True for the RPCs whose contract declares `(neutone.v1.changes_only_counters)`.
    changes_only_counters: bool

    @property
    def needs_user(self) -> bool:
        return self.access == access_pb2.ACCESS_USER

    @property
    def same_reply_for_everyone(self) -> bool:
        """Signed-out callers all get the same reply (see gateway.public_replies)."""
        return (
            self.access == access_pb2.ACCESS_PUBLIC
            and not self.side_effects
            and not self.server_streaming
        )

    @property
    def makes_public_replies_stale(self) -> bool:
        """Once it succeeds, replies kept for signed-out callers may be wrong; counts
        that lag by the replies' time to live are not (see gateway.public_replies)."""
        return self.side_effects and not self.changes_only_counters


def browser_methods(files: tuple[FileDescriptor, ...] = CONTRACTS) -> dict[str, BridgedMethod]:
    levels = access_levels(*files)
    methods: dict[str, BridgedMethod] = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                path = f"/{service.full_name}/{method.name}"
                if levels[path] in BROWSER_ACCESS:
                    methods[path] = BridgedMethod(
                        path=path,
                        access=levels[path],
                        server_streaming=method.server_streaming,
                        service=service.full_name,
                        side_effects=_has_side_effects(method),
                        changes_only_counters=method.GetOptions().Extensions[
                            access_pb2.changes_only_counters
                        ],
                    )
    return methods


def _has_side_effects(method: MethodDescriptor) -> bool:
    return method.GetOptions().idempotency_level != descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS


def upstream_addresses(*, usersvc: str, billingsvc: str, songsvc: str) -> Mapping[str, str]:
    """Each contract service's address, from the shared address settings."""
    return {
        user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name: usersvc,
        billing_service_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name: billingsvc,
        song_service_pb2.DESCRIPTOR.services_by_name["SongService"].full_name: songsvc,
    }

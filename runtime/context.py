"""What the current RPC is and who called it, readable anywhere in its handler."""

from contextvars import ContextVar
from dataclasses import dataclass

from runtime.errors import PermissionDenied, Unauthenticated
from runtime.identity import Identity


@dataclass(frozen=True, slots=True)
class CallContext:
    method: str
    request_id: str
    identity: Identity | None
    # The caller's deadline (or the default one) on the event loop's clock, for
    # deadlines of downstream calls and waits; None only for streams without one.
    deadline: float | None
    # The end client's address (without a port): as the gateway saw it when the call
    # came through the gateway (a trusted proxy), else the calling peer's.
    client_address: str


_current_call: ContextVar[CallContext | None] = ContextVar("neutone_call", default=None)


def current_call() -> CallContext | None:
    return _current_call.get()


def caller() -> Identity | None:
    call = _current_call.get()
    return call.identity if call else None


def require_service(principal: str) -> Identity:
    """The calling service, when it is `principal`: for internal RPCs that only one
    service may call (deleting an account's songs, say)."""
    identity = caller()
    if identity is None or not identity.is_service or identity.subject != principal:
        raise PermissionDenied(f"only {principal} may call this")
    return identity


def require_user() -> Identity:
    """The calling user; the interceptor has already refused anonymous callers of
    USER methods, so this fails only when a handler is misdeclared."""
    identity = caller()
    if identity is None or not identity.is_user:
        raise Unauthenticated("sign in to do this")
    return identity

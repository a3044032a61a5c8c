"""Errors a service raises from its logic. The server interceptor turns each into
a gRPC status with rich details (google.rpc.BadRequest, ErrorInfo, RetryInfo),
so clients and browsers can tell which field is wrong or why a call was refused."""

from collections.abc import Mapping
from uuid import UUID

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "neutone.ai"


class ServiceError(Exception):
    """A failure with a gRPC status code; `reason` becomes an ErrorInfo detail."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})

    def details(self) -> list[any_pb2.Any]:
        if self.reason is None:
            return []
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
        )
        return [_pack(info)]

    def to_status(self) -> grpc.Status:
        status = status_pb2.Status(
            code=getattr(code_pb2, self.code.name),
            message=self.message,
            details=self.details(),
        )
        return rpc_status.to_status(status)


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Mapping[str, str]) -> None:
        fields = ", ".join(violations)
        super().__init__(f"invalid {fields}: " + "; ".join(violations.values()))
        self.violations = dict(violations)

    def details(self) -> list[any_pb2.Any]:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=text)
                for field, text in self.violations.items()
            ]
        )
        return [_pack(bad_request), *super().details()]


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(ServiceError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, *, reason: str, retry_after_seconds: int) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_seconds = retry_after_seconds

    def details(self) -> list[any_pb2.Any]:
        retry = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=self.retry_after_seconds)
        )
        return [*super().details(), _pack(retry)]


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class Violations:
    """Collects field violations so that every bad field is reported at once.

    Checks return the cleaned value, so a handler reads as a list of its limits:

        check = Violations()
        email = check.text("email", request.email, max_length=254)
        check.raise_if_any()
    """

    def __init__(self) -> None:
        self._found: dict[str, str] = {}

    def add(self, field: str, description: str) -> None:
        self._found.setdefault(field, description)

    def text(
        self, field: str, value: str, *, max_length: int, min_length: int = 1, strip: bool = True
    ) -> str:
        cleaned = value.strip() if strip else value
        if len(cleaned) < min_length:
            self.add(
                field,
                "is required" if min_length == 1 else f"must be at least {min_length} characters",
            )
        elif len(cleaned) > max_length:
            self.add(field, f"must be at most {max_length} characters")
        elif "\x00" in cleaned:
            self.add(field, "must not contain NUL characters")
        return cleaned

    def integer(self, field: str, value: int, *, minimum: int, maximum: int) -> int:
        if not minimum <= value <= maximum:
            self.add(field, f"must be between {minimum} and {maximum}")
        return value

    def uuid(self, field: str, value: str) -> str:
        try:
            return str(UUID(value))
        except ValueError:
            self.add(field, "must be a UUID")
            return value

    def raise_if_any(self) -> None:
        if self._found:
            raise InvalidArgument(self._found)


def error_reason(error: grpc.RpcError) -> str | None:
    """The ErrorInfo reason carried by a failed call (sync or asyncio), if any."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return None

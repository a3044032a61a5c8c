"""What went wrong, as the CLI reports it: a service's gRPC error with its rich
details (field violations, ErrorInfo reason, RetryInfo), or a failure the CLI
found itself."""

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from runtime.errors import error_reason


class CliError(Exception):
    """A failure the CLI finds itself (not signed in, a download that failed), as
    opposed to a service's gRPC error."""


@dataclass(frozen=True, slots=True)
class Failure:
    message: str
    # The gRPC status code's name; None for a failure found by the CLI.
    code: str | None = None
    reason: str | None = None
    # Field paths as the contract names them (`song.title`), with what is wrong.
    field_violations: dict[str, str] = field(default_factory=dict)
    retry_delay_seconds: float | None = None

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "Failure":
        violations: dict[str, str] = {}
        retry_delay: float | None = None
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.update({v.field: v.description for v in bad_request.field_violations})
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
        return cls(
            message=error.details() or "",  # type: ignore[attr-defined]
            code=error.code().name,  # type: ignore[attr-defined]
            reason=error_reason(error),
            field_violations=violations,
            retry_delay_seconds=retry_delay,
        )

    def as_document(self) -> dict[str, object]:
        """The failure for scripts (`--json`), under the names google.rpc uses."""
        document: dict[str, object] = {"code": self.code} if self.code else {}
        document["message"] = self.message
        if self.reason is not None:
            document["reason"] = self.reason
        if self.field_violations:
            document["field_violations"] = [
                {"field": name, "description": text} for name, text in self.field_violations.items()
            ]
        if self.retry_delay_seconds is not None:
            document["retry_delay_seconds"] = self.retry_delay_seconds
        return document

    def as_text(self) -> str:
        head = f"error: {self.code}: {self.message}" if self.code else f"error: {self.message}"
        if self.reason:
            head += f" (reason {self.reason})"
        lines = [head, *(f"  {name}: {text}" for name, text in self.field_violations.items())]
        if self.retry_delay_seconds is not None:
            lines.append(f"  retry in {self.retry_delay_seconds:g} s")
        return "\n".join(lines)

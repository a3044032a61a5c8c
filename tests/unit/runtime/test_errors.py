import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from runtime.errors import FailedPrecondition, InvalidArgument, ResourceExhausted, Violations


def _details(status: grpc.Status) -> list:
    decoded = rpc_status.from_call(_Call(status))
    return list(decoded.details)


class _Call:
    """Just enough of a grpc.Call for rpc_status.from_call."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def trailing_metadata(self):
        return self._status.trailing_metadata

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details


def test_violations_report_every_bad_field_with_its_limit() -> None:
    check = Violations()
    assert check.text("title", "  Hello  ", max_length=10) == "Hello"
    check.text("email", "", max_length=254)
    check.text("bio", "x" * 11, max_length=10)
    check.integer("page_size", 101, minimum=1, maximum=100)
    check.uuid("song_id", "not-a-uuid")
    try:
        check.raise_if_any()
    except InvalidArgument as error:
        assert error.violations == {
            "email": "is required",
            "bio": "must be at most 10 characters",
            "page_size": "must be between 1 and 100",
            "song_id": "must be a UUID",
        }
        details = _details(error.to_status())
    else:
        raise AssertionError("expected InvalidArgument")
    bad_request = error_details_pb2.BadRequest()
    assert details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == [
        "email",
        "bio",
        "page_size",
        "song_id",
    ]


def test_no_violations_raises_nothing() -> None:
    check = Violations()
    check.text("title", "ok", max_length=10)
    check.raise_if_any()


def test_text_refuses_nul_characters() -> None:
    check = Violations()
    check.text("title", "a\x00b", max_length=10)
    assert check._found == {"title": "must not contain NUL characters"}


def test_error_info_and_retry_info_travel_in_the_status() -> None:
    status = FailedPrecondition("no credits", reason="INSUFFICIENT_CREDITS").to_status()
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    info = error_details_pb2.ErrorInfo()
    assert _details(status)[0].Unpack(info)
    assert (info.reason, info.domain) == ("INSUFFICIENT_CREDITS", "neutone.ai")

    limited = ResourceExhausted("slow down", reason="LIMITED", retry_after_seconds=60).to_status()
    retry = error_details_pb2.RetryInfo()
    assert _details(limited)[1].Unpack(retry)
    assert retry.retry_delay.seconds == 60

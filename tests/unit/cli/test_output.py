"""What CLI commands print: one JSON document with the contract's field names
under --json, failures with their code, reason and fields."""

import io
import json

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from cli.errors import Failure
from cli.output import Output, label
from neutone.v1 import billing_service_pb2, song_pb2
from neutone.v1 import song_service_pb2 as pb


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_output_is_one_document_with_the_contracts_names_and_zero_values() -> None:
    stdout = io.StringIO()
    out = Output(as_json=True, stdout=stdout)
    out.note("created it")
    out.progress("[###...]")
    out.reply(billing_service_pb2.GetBalanceResponse(balance=0), "0 credits")
    assert json.loads(stdout.getvalue()) == {"balance": 0}

    stdout = io.StringIO()
    song = song_pb2.Song(id="s", owner_display_name="Me", status=song_pb2.SONG_STATUS_READY)
    Output(as_json=True, stdout=stdout).reply(pb.GetSongResponse(song=song), "text")
    document = json.loads(stdout.getvalue())["song"]
    assert document["owner_display_name"] == "Me"
    assert document["status"] == "SONG_STATUS_READY"
    assert document["published"] is False


def test_progress_rewrites_one_line_on_a_terminal_and_ends_it_before_the_result() -> None:
    terminal = Terminal()
    out = Output(as_json=False, stdout=terminal)
    out.progress("10%")
    out.progress("10%")
    out.progress("50%")
    out.reply(billing_service_pb2.GetBalanceResponse(balance=2), "done")
    assert terminal.getvalue() == "\r10%\r50%\ndone\n"

    piped = io.StringIO()
    out = Output(as_json=False, stdout=piped)
    for text in ("10%", "10%", "50%"):
        out.progress(text)
    assert piped.getvalue() == "10%\n50%\n"


def test_enum_labels_drop_their_type_prefix() -> None:
    assert label(song_pb2.SongStatus, song_pb2.SONG_STATUS_READY) == "ready"
    assert label(song_pb2.GenerationStage, song_pb2.GENERATION_STAGE_PLANNING) == "planning"
    assert label(pb.FeedOrder, pb.FEED_ORDER_TRENDING) == "trending"


class FailedCall(grpc.RpcError):
    """A failed call as grpc raises it: the status details in trailing metadata."""

    def __init__(self, status: status_pb2.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return next(c for c in grpc.StatusCode if c.value[0] == self._status.code)

    def details(self) -> str:
        return self._status.message

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return (("grpc-status-details-bin", self._status.SerializeToString()),)


def packed(message: object) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)
    return detail


def test_a_failure_names_its_code_reason_fields_and_retry_delay() -> None:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field="song.title", description="must be at most 80 characters"
            )
        ]
    )
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message="slow down",
        details=[
            packed(bad_request),
            packed(error_details_pb2.ErrorInfo(reason="LIKES_RATE_LIMITED", domain="neutone.ai")),
            packed(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=12))),
        ],
    )
    failure = Failure.from_rpc_error(FailedCall(status))
    assert failure.as_document() == {
        "code": "RESOURCE_EXHAUSTED",
        "message": "slow down",
        "reason": "LIKES_RATE_LIMITED",
        "field_violations": [
            {"field": "song.title", "description": "must be at most 80 characters"}
        ],
        "retry_delay_seconds": 12.0,
    }
    assert failure.as_text() == (
        "error: RESOURCE_EXHAUSTED: slow down (reason LIKES_RATE_LIMITED)\n"
        "  song.title: must be at most 80 characters\n"
        "  retry in 12 s"
    )
    assert Failure(message="not signed in").as_document() == {"message": "not signed in"}

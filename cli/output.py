"""What a command prints: with `--json`, exactly one JSON document on stdout (a
reply as protobuf's JSON mapping, under the contract's field names) and failures
as a JSON document on stderr; without it, a few readable lines."""

import json
import re
import sys
from collections.abc import Mapping
from datetime import UTC
from typing import TextIO

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message

from cli.errors import Failure


def document_of(message: Message) -> dict[str, object]:
    # Fields at their zero value are printed too: a script reads `balance` as 0
    # rather than finding it missing.
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class Output:
    def __init__(
        self, *, as_json: bool, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr
    ) -> None:
        self.as_json = as_json
        self._stdout = stdout
        self._stderr = stderr
        self._progress_shown = False
        self._last_progress = ""

    def reply(self, message: Message, text: str) -> None:
        """A command's result: the reply itself for scripts, `text` for people."""
        self.document(document_of(message), text)

    def document(self, document: Mapping[str, object], text: str) -> None:
        self._end_progress()
        if self.as_json:
            print(json.dumps(document, indent=2), file=self._stdout)
        elif text:
            print(text, file=self._stdout)

    def note(self, text: str) -> None:
        """A line for people on the way to the result; nothing with `--json`."""
        if not self.as_json:
            self._end_progress()
            print(text, flush=True, file=self._stdout)

    def progress(self, text: str) -> None:
        """A line that changes (a song being made): rewritten in place on a
        terminal, one line each otherwise; nothing with `--json`."""
        if self.as_json or text == self._last_progress:
            return
        self._last_progress = text
        if self._stdout.isatty():
            print(f"\r{text}", end="", flush=True, file=self._stdout)
            self._progress_shown = True
        else:
            print(text.rstrip(), flush=True, file=self._stdout)

    def failure(self, failure: Failure) -> None:
        self._end_progress()
        if self.as_json:
            print(json.dumps(failure.as_document(), indent=2), file=self._stderr)
        else:
            print(failure.as_text(), file=self._stderr)

    def _end_progress(self) -> None:
        if self._progress_shown:
            print(file=self._stdout)
            self._progress_shown = False


def label(enum: EnumTypeWrapper, value: int) -> str:
    """An enum value's name without its type's prefix: SONG_STATUS_READY -> ready."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.DESCRIPTOR.name).upper() + "_"
    return enum.Name(value).removeprefix(prefix).lower()


def when(timestamp: timestamp_pb2.Timestamp) -> str:
    return timestamp.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def next_page(token: str) -> str:
    """The hint after a page that has more."""
    # With "=": a token may begin with "-", which argparse would take for an option.
    return f"more: --page-token={token}" if token else ""


def lines(*parts: str) -> str:
    """Text of the non-empty parts, one a line."""
    return "\n".join(part for part in parts if part)

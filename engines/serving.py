"""What the Triton python-backend adapters in model_repository/ share.

Each adapter gathers the rows of every request Triton hands to `execute`, runs its engine
once on all of them, and answers each request as soon as its own rows are done, through the
request's response sender: a short song batched with a long one need not wait for it.
A request whose inputs break a limit gets its own INVALID_ARG response and is left out of the
batch; an engine failure fails only the requests of that batch not answered yet, and the
instance keeps serving. `pb_utils` is passed in because it only exists inside the backend's
stub process.
"""

import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from engines.limits import InvalidInputError

Item = TypeVar("Item")
Result = TypeVar("Result")

_UNRESOLVED = re.compile(r"\$\{?\w+\}?")


def model_parameters(model_config: dict[str, Any]) -> dict[str, str]:
    """The config's `parameters` as strings, with ${VARIABLES} taken from the environment."""
    parameters = {}
    for key, value in model_config.get("parameters", {}).items():
        text = os.path.expandvars(value["string_value"])
        if _UNRESOLVED.search(text):
            raise ValueError(f"parameter {key!r} needs an unset environment variable: {text}")
        parameters[key] = text
    return parameters


class Inputs:
    """One request's input tensors, decoded row by row."""

    def __init__(self, pb_utils: ModuleType, request: Any, names: Sequence[str]) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        for name in names:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is not None:
                self.arrays[name] = tensor.as_numpy()
        # Triton checks every input against the config and gives them one batch size.
        self.rows = next(iter(self.arrays.values())).shape[0] if self.arrays else 0

    def texts(self, name: str, *, required: bool = False) -> list[str]:
        """UTF-8 texts, or "" for every row when not sent (an error when `required`)."""
        array = self.arrays.get(name)
        if array is None:
            if required:
                raise InvalidInputError(name, "is required")
            return [""] * self.rows
        try:
            return [value.decode("utf-8") for value in array.reshape(self.rows)]
        except UnicodeDecodeError:
            raise InvalidInputError(name, "must be UTF-8 text") from None

    def blobs(self, name: str) -> list[bytes]:
        """Raw bytes (an audio file, say), or b"" for every row when not sent."""
        array = self.arrays.get(name)
        return [b""] * self.rows if array is None else list(array.reshape(self.rows))

    def values(self, name: str, *, default: Any) -> list[Any]:
        """Numbers or flags as Python values, or `default` for every row when not sent."""
        array = self.arrays.get(name)
        return [default] * self.rows if array is None else array.reshape(self.rows).tolist()


def text_tensor(pb_utils: ModuleType, name: str, texts: Sequence[str | bytes]) -> Any:
    """A BYTES tensor of shape (rows, 1): one text per row."""
    return text_matrix(pb_utils, name, [[text] for text in texts])


def text_matrix(pb_utils: ModuleType, name: str, rows: Sequence[Sequence[str | bytes]]) -> Any:
    """A BYTES tensor of shape (rows, width); shorter rows are padded with empty texts."""
    width = max(len(row) for row in rows)
    array = np.full((len(rows), width), b"", dtype=np.object_)
    for index, row in enumerate(rows):
        array[index, : len(row)] = [t.encode("utf-8") if isinstance(t, str) else t for t in row]
    return pb_utils.Tensor(name, array)


def execute_batched(
    pb_utils: ModuleType,
    requests: Sequence[Any],
    *,
    model: str,
    input_names: Sequence[str],
    parse: Callable[[Inputs], list[Item]],
    run: Callable[[list[Item]], Iterable[tuple[int, Result]]],
    outputs: Callable[[list[Result]], list[Any]],
) -> None:
    """Parses every request, runs `run` once on all valid rows, and answers each request
    once all its rows are done. Returns None: the responses go through the senders, which
    a non-decoupled model may use once per request.

    `parse` turns one request's inputs into its rows (raising InvalidInputError for bad
    input); `run` yields (row index in the batch, result) as each row is done, in any
    order; `outputs` turns one request's results, in its rows' order, into its output
    tensors.
    """
    senders = [request.get_response_sender() for request in requests]

    def answer(index: int, response: Any) -> None:
        senders[index].send(response, flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

    batch: list[Item] = []
    # Where each row of the batch belongs: (request index, position among its rows).
    owners: list[tuple[int, int]] = []
    results: dict[int, list[Any]] = {}
    remaining: dict[int, int] = {}
    for index, request in enumerate(requests):
        try:
            rows = parse(Inputs(pb_utils, request, input_names))
        except InvalidInputError as error:
            error = pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
            answer(index, pb_utils.InferenceResponse(error=error))
            continue
        owners.extend((index, position) for position in range(len(rows)))
        batch.extend(rows)
        results[index] = [None] * len(rows)
        remaining[index] = len(rows)

    started = time.perf_counter()
    unanswered = set(results)
    try:
        for row, result in run(batch) if batch else ():
            index, position = owners[row]
            results[index][position] = result
            remaining[index] -= 1
            if remaining[index] == 0:
                answer(index, pb_utils.InferenceResponse(output_tensors=outputs(results[index])))
                unanswered.discard(index)
    except Exception as error:  # one failed batch must not take the instance down
        pb_utils.Logger.log_error(f"{model}: batch of {len(batch)} failed: {error!r}")
        failure = pb_utils.TritonError(f"{model} failed: {error}")
        for index in sorted(unanswered):
            answer(index, pb_utils.InferenceResponse(error=failure))
    ids = ",".join(request.request_id() or "-" for request in requests)
    pb_utils.Logger.log_info(
        f"{model}: {len(batch)} rows of {len(requests)} requests "
        f"({len(requests) - len(results)} rejected) "
        f"in {time.perf_counter() - started:.3f}s; request ids {ids}"
    )

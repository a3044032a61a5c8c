from collections.abc import Callable, Iterator

import numpy as np
import pytest

from engines.limits import InvalidInputError
from engines.serving import Inputs, execute_batched, model_parameters


def config(**values: str) -> dict:
    return {"parameters": {key: {"string_value": value} for key, value in values.items()}}


def test_parameters_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_MODELS_DIR", "/models")
    parameters = model_parameters(config(weights_dir="${NEUTONE_MODELS_DIR}/planner", dtype="auto"))
    assert parameters == {"weights_dir": "/models/planner", "dtype": "auto"}


def test_an_unset_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEUTONE_MODELS_DIR", raising=False)
    with pytest.raises(ValueError, match="weights_dir"):
        model_parameters(config(weights_dir="${NEUTONE_MODELS_DIR}/planner"))


def test_no_parameters() -> None:
    assert model_parameters({}) == {}


class StandIn:
    """What execute_batched uses of `triton_python_backend_utils`, recording each
    response sent and when (the order of sends)."""

    TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1

    class TritonError:
        INVALID_ARG = "INVALID_ARG"

        def __init__(self, message: str, code: str = "INTERNAL") -> None:
            self.message, self.code = message, code

    class InferenceResponse:
        def __init__(self, output_tensors: list | None = None, error: object = None) -> None:
            self.output_tensors, self.error = output_tensors, error

    class Logger:
        log_info = log_error = staticmethod(lambda message: None)

    def __init__(self) -> None:
        self.sent: list[tuple[int, StandIn.InferenceResponse, int]] = []

    def get_input_tensor_by_name(self, request: "Request", name: str) -> "Tensor | None":
        return Tensor(request.rows) if name == "ROWS" else None


class Tensor:
    def __init__(self, rows: list) -> None:
        self.rows = rows

    def as_numpy(self) -> np.ndarray:
        texts = [row.encode() for row in self.rows]
        return np.array(texts, dtype=np.object_).reshape(len(self.rows), 1)


class Request:
    def __init__(self, stand_in: StandIn, number: int, rows: list) -> None:
        self.stand_in, self.number, self.rows = stand_in, number, rows

    def request_id(self) -> str:
        return str(self.number)

    def get_response_sender(self) -> "Request":
        return self

    def send(self, response: StandIn.InferenceResponse, flags: int) -> None:
        self.stand_in.sent.append((self.number, response, flags))


def parse(inputs: Inputs) -> list[str]:
    rows = inputs.texts("ROWS")
    if "bad" in rows:
        raise InvalidInputError("ROWS", "must not be bad")
    return rows


def execute(stand_in: StandIn, requests: list[list[str]], run: Callable) -> None:
    execute_batched(
        stand_in,  # type: ignore[arg-type]
        [Request(stand_in, number, rows) for number, rows in enumerate(requests)],
        model="test",
        input_names=["ROWS"],
        parse=parse,
        run=run,
        outputs=lambda results: results,
    )


def test_each_request_is_answered_once_its_own_rows_are_done() -> None:
    stand_in = StandIn()
    # Rows finish last to first; request 0 has two rows, the first of which is last.
    execute(stand_in, [["a", "b"], ["c"], ["d"]], lambda rows: reversed(list(enumerate(rows))))
    answers = [(number, response.output_tensors) for number, response, _ in stand_in.sent]
    assert answers == [(2, ["d"]), (1, ["c"]), (0, ["a", "b"])]
    assert {flags for _, _, flags in stand_in.sent} == {
        StandIn.TRITONSERVER_RESPONSE_COMPLETE_FINAL
    }


def test_a_bad_request_is_refused_at_once_and_the_others_run() -> None:
    stand_in = StandIn()
    batches: list[list[str]] = []

    def run(rows: list[str]) -> Iterator[tuple[int, str]]:
        batches.append(rows)
        return enumerate(rows)

    execute(stand_in, [["a"], ["bad"], ["c"]], run)
    assert batches == [["a", "c"]]
    (refused,) = [response for number, response, _ in stand_in.sent if number == 1]
    assert refused.error.code == "INVALID_ARG" and "ROWS: must not be bad" in refused.error.message
    assert [number for number, _, _ in stand_in.sent] == [1, 0, 2]


def test_a_failing_engine_fails_only_the_requests_not_answered_yet() -> None:
    stand_in = StandIn()

    def run(rows: list[str]) -> Iterator[tuple[int, str]]:
        yield 0, rows[0]
        raise RuntimeError("out of memory")

    execute(stand_in, [["a"], ["b"], ["c"]], run)
    answers = {number: response for number, response, _ in stand_in.sent}
    assert len(stand_in.sent) == len(answers) == 3  # one response each, never two
    assert answers[0].output_tensors == ["a"]
    for number in (1, 2):
        assert answers[number].error.message == "test failed: out of memory"

import pytest

from engines.serving import model_parameters


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

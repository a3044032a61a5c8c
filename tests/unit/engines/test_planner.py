from pathlib import Path

import pytest
import torch

from engines import limits
from engines.categories import CATEGORIES
from engines.planner import Planner, PlannerSettings
from engines.schema import PlanRequest, SongMode


@pytest.fixture(scope="module")
def planner(tiny_models: Path) -> Planner:
    return Planner.from_pretrained(tiny_models / "planner")


REQUESTS = [
    PlanRequest(mode=SongMode.DESCRIPTION, description="a dreamy lo-fi song about summer rain"),
    PlanRequest(mode=SongMode.DESCRIBED_LYRICS, prompt="upbeat pop, synth", lyrics="a road trip"),
    PlanRequest(mode=SongMode.LYRICS, prompt="rock", lyrics="[verse]\nhello\n[chorus]\nyeah"),
    PlanRequest(mode=SongMode.DESCRIPTION, description="epic orchestral", instrumental=True),
    PlanRequest(mode=SongMode.LYRICS, prompt="ambient pads", instrumental=True),
]


def test_plans_every_mode_in_one_batch(planner: Planner) -> None:
    plans = planner.plan(REQUESTS)
    assert len(plans) == len(REQUESTS)
    for plan in plans:
        assert 1 <= len(plan.categories) <= 3
        assert set(plan.categories) <= set(CATEGORIES)
        assert len(set(plan.categories)) == len(plan.categories)
        assert plan.title and len(plan.title) <= limits.MAX_TITLE_CHARS
        assert plan.prompt and len(plan.prompt) <= limits.MAX_PROMPT_CHARS
        assert plan.title.isprintable() and plan.prompt.isprintable()
    description, described, given, instrumental, custom_instrumental = plans
    # Written lyrics always carry sections, whatever the model wrote.
    for written in (description, described):
        assert written.lyrics.startswith("[verse]") or "[chorus]" in written.lyrics
        assert len(written.lyrics) <= limits.MAX_LYRICS_CHARS
    assert described.prompt == "upbeat pop, synth"
    assert given.lyrics == "[verse]\nhello\n[chorus]\nyeah"
    assert instrumental.lyrics == custom_instrumental.lyrics == limits.INSTRUMENTAL_LYRICS


def test_planning_is_deterministic(planner: Planner) -> None:
    assert planner.plan(REQUESTS[:2]) == planner.plan(REQUESTS[:2])


def test_empty_batch(planner: Planner) -> None:
    assert planner.plan([]) == []


def test_max_categories_is_respected(planner: Planner) -> None:
    single = Planner(planner.model, planner.tokenizer, settings=PlannerSettings(max_categories=1))
    assert all(len(plan.categories) == 1 for plan in single.plan(REQUESTS[:2]))


def test_cached_category_scores_match_scoring_whole_sequences(planner: Planner) -> None:
    """The shared-question cache must score exactly what full sequences would."""
    context = "a dreamy lo-fi song about summer rain"
    question = planner.tokenizer(
        planner._chat_prefix(
            f"Which genre fits this song best? Reply with the genre only.\n{context}"
        ),
        add_special_tokens=False,
    )["input_ids"]
    scores = []
    for name in CATEGORIES:
        answer = planner.tokenizer(f"{name}<|im_end|>", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = planner.model(input_ids=torch.tensor([question + answer])).logits[0]
        logprobs = logits.log_softmax(-1)[len(question) - 1 : -1]
        scores.append(logprobs.gather(1, torch.tensor(answer)[:, None]).mean())
    probabilities = torch.stack(scores).softmax(-1)
    best = CATEGORIES[int(probabilities.argmax())]
    # A padded batch: the other, longer context forces left padding on this one.
    chosen = planner._categorize([context, context + " with a long extra tail " * 3])[0]
    assert chosen[0] == best

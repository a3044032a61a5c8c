from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engines import limits
from engines.categories import CATEGORIES
from engines.limits import InvalidInputError
from engines.planner import (
    GENRE_QUESTION,
    Planner,
    PlannerSettings,
    _Job,
    _Task,
    _Written,
    category_spellings,
)
from engines.planner_text import lyrics_shape
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
        planner._chat_prefix(GENRE_QUESTION.format(choices=", ".join(CATEGORIES), context=context)),
        add_special_tokens=False,
    )["input_ids"]
    best_spelling = torch.full((len(CATEGORIES),), -torch.inf)
    for category, spelling in category_spellings():
        answer = planner.tokenizer(f"{spelling}<|im_end|>", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = planner.model(input_ids=torch.tensor([question + answer])).logits[0]
        logprobs = logits.log_softmax(-1)[len(question) - 1 : -1]
        score = logprobs.gather(1, torch.tensor(answer)[:, None]).mean()
        best_spelling[category] = max(best_spelling[category], score)
    best = CATEGORIES[int(best_spelling.argmax())]
    # A padded batch: the other, longer context forces left padding on this one.
    chosen = planner._categorize([context, context + " with a long extra tail " * 3])[0]
    assert chosen[0] == best


def test_a_category_counts_in_whatever_spelling_the_model_prefers(planner: Planner) -> None:
    """A model that answers "Hip-Hop" files the song under "hip hop"."""
    tokenizer = planner.tokenizer
    preferred = set(tokenizer("Hip-Hop", add_special_tokens=False)["input_ids"])
    canonical = set(tokenizer("hip hop", add_special_tokens=False)["input_ids"])
    bias = torch.zeros(planner.model.config.vocab_size)
    bias[list(preferred - canonical)] = 10.0
    hook = planner.model.lm_head.register_forward_hook(lambda _m, _i, logits: logits + bias)
    context = ["a song"]
    try:
        assert planner._categorize(context)[0][0] == "hip hop"
        # Scored under their canonical spelling only, the same answers file it elsewhere.
        canonical_only = [(index, name) for index, name in enumerate(CATEGORIES)]
        strict = Planner(planner.model, tokenizer)
        strict._spellings = canonical_only
        assert strict._categorize(context)[0][0] != "hip hop"
    finally:
        hook.remove()


def test_category_spellings_cover_case_and_punctuation() -> None:
    spelled = {spelling: CATEGORIES[index] for index, spelling in category_spellings()}
    for spelling, name in [
        ("Pop", "pop"),
        ("Hip-Hop", "hip hop"),
        ("hiphop", "hip hop"),
        ("R&B", "r&b"),
        ("Lo-Fi", "lo-fi"),
        ("lofi", "lo-fi"),
    ]:
        assert spelled[spelling] == name
    assert set(spelled.values()) == set(CATEGORIES)


DESCRIBED = PlanRequest(
    mode=SongMode.DESCRIPTION, description="a dreamy lo-fi song about summer rain", seed=7
)


def test_the_same_seed_gives_the_same_texts_alone_or_batched(planner: Planner) -> None:
    alone = planner.plan([DESCRIBED])[0]
    others = [replace(DESCRIBED, seed=8), *REQUESTS[1:3]]
    # In the middle of a batch with other seeds, other modes and longer prompts (padding).
    batched = planner.plan([others[0], DESCRIBED, *others[1:]])[1]
    assert batched == alone


def test_another_seed_gives_other_texts(planner: Planner) -> None:
    plans = planner.plan([replace(DESCRIBED, seed=seed) for seed in (1, 2, 3)])
    assert len({plan.lyrics for plan in plans}) == 3
    assert len({plan.prompt for plan in plans}) == 3


def test_longer_songs_get_longer_lyrics(planner: Planner) -> None:
    short, long = planner.plan(
        [replace(DESCRIBED, duration_seconds=10.0), replace(DESCRIBED, duration_seconds=120.0)]
    )
    short_tokens = len(planner.tokenizer(short.lyrics)["input_ids"])
    # The random model rarely ends a text itself: its budget is what bounds it.
    assert short_tokens <= planner.settings.lyrics_budget(lyrics_shape(10.0))
    assert len(long.lyrics) > 4 * len(short.lyrics)


class ScriptedPlanner(Planner):
    """A planner whose model answers with the given texts (as a real instruct model would)."""

    def __init__(self, planner: Planner, answers: dict[_Task, str]) -> None:
        super().__init__(planner.model, planner.tokenizer)
        self.answers = answers
        self.jobs: list[_Job] = []

    def _write(self, jobs: Sequence[_Job]) -> list[_Written]:
        self.jobs += jobs
        return [_Written(self.answers[job.task], complete=True) for job in jobs]


def test_model_answers_are_cleaned_into_the_plan(planner: Planner) -> None:
    scripted = ScriptedPlanner(
        planner,
        {
            _Task.PROMPT: "Sure! Here's a style prompt:\n\n**Style:** dreamy lo-fi, soft piano",
            _Task.LYRICS: (
                "Here are the lyrics:\n\n**Verse 1:**\nDrops on the window\n\n"
                "**Chorus:**\nSummer rain\n\nI hope you enjoy this song!"
            ),
            _Task.TITLE: 'Title: "Summer Rain"',
        },
    )
    plan = scripted.plan([DESCRIBED])[0]
    assert plan.prompt == "dreamy lo-fi, soft piano"
    assert plan.lyrics == "[verse]\nDrops on the window\n\n[chorus]\nSummer rain"
    assert plan.title == "Summer Rain"


def test_the_lyrics_instruction_and_budget_follow_the_duration(planner: Planner) -> None:
    scripted = ScriptedPlanner(planner, dict.fromkeys(_Task, "la"))
    scripted.plan([replace(DESCRIBED, duration_seconds=s) for s in (10.0, 120.0)])
    short, long = (job for job in scripted.jobs if job.task is _Task.LYRICS)
    assert "10-second song" in short.instruction and "[verse] (2 lines each)" in short.instruction
    assert "[verse], [chorus], [verse], [chorus], [bridge], [chorus] (4 lines" in long.instruction
    assert short.budget < long.budget == planner.settings.lyrics_budget(lyrics_shape(120.0))


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [("duration_seconds", 9.0, "DURATION_SECONDS"), ("seed", -1, "SEED")],
)
def test_bad_duration_or_seed_is_refused_naming_it(field: str, value: float, name: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        replace(DESCRIBED, **{field: value})
    assert raised.value.input_name == name

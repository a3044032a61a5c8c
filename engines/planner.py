"""The planner: turns a song request into the texts the music and cover models need.

A Qwen instruct model writes the style prompt (description mode), the lyrics (when they were
described rather than given) and a title, all in one batched `generate` call with left
padding. The lyrics are asked for in sections whose number follows the song's duration, and
every text is sampled with the song's seed (see SeededSampler). Categories are chosen by
scoring every spelling of every name of the fixed vocabulary as the model's answer, so the
result is always a valid category however the model behaves.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedModel,
    RepetitionPenaltyLogitsProcessor,
    StoppingCriteria,
    StoppingCriteriaList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from engines import checkpoints, limits
from engines.categories import CATEGORIES
from engines.planner_text import (
    LyricsShape,
    clean_lyrics,
    clean_prompt,
    clean_title,
    lyrics_shape,
    printable,
)
from engines.schema import PlanRequest, SongMode, SongPlan

SYSTEM_MESSAGE = "You are the songwriting planner of Neutone, an AI music app."
STYLE_INSTRUCTION = (
    "Write a one-line music style prompt for this song: genre, mood, instruments and tempo, "
    "comma separated. Reply with the prompt only.\nSong description: {description}"
)
LYRICS_INSTRUCTION = (
    "Write the lyrics of a {seconds}-second song.\n{about}\n"
    "Sections, in this order: {sections}. Put each section tag on its own line, then its "
    "lines, one sung line per line. Reply with the lyrics only: no title, no notes."
)
TITLE_INSTRUCTION = (
    "Write a short song title, at most six words. Reply with the title only.\n{about}"
)
GENRE_QUESTION = (
    "Which genre fits this song best? Reply with the genre only, one of: {choices}.\n{context}"
)

# A few tokens at least, so a model that ends at once still leaves text.
MIN_NEW_TOKENS = 4


@dataclass(frozen=True, kw_only=True)
class PlannerSettings:
    """Generation budgets, sampling and category choice; from the model config in Triton."""

    prompt_tokens: int = 48
    # The lyrics get `lyrics_tokens_per_line` per line and tag of their shape, at most
    # `lyrics_tokens` (a 240-second song asks for 48 lines in 12 sections: 720 tokens).
    lyrics_tokens: int = 800
    lyrics_tokens_per_line: int = 12
    title_tokens: int = 12
    temperature: float = 0.8
    top_p: float = 0.9
    # Counts only the tokens written so far (not the prompt), which keeps a row's text
    # independent of the padding its batch gave it.
    repetition_penalty: float = 1.1
    max_categories: int = 3
    # A runner-up category is kept when its probability is at least this share of the best's.
    category_ratio: float = 0.5

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "lyrics_tokens", "lyrics_tokens_per_line", "title_tokens"):
            if getattr(self, name) < MIN_NEW_TOKENS:
                raise ValueError(f"{name} must be at least {MIN_NEW_TOKENS}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] (got {self.top_p})")
        if not self.repetition_penalty > 0:
            raise ValueError(f"repetition_penalty must be positive (got {self.repetition_penalty})")

    def lyrics_budget(self, shape: LyricsShape) -> int:
        """New tokens for lyrics of this shape: its lines and tags, within `lyrics_tokens`."""
        wanted = (shape.lines + len(shape.sections)) * self.lyrics_tokens_per_line
        return min(self.lyrics_tokens, wanted)


class _Task(Enum):
    PROMPT = "prompt"
    LYRICS = "lyrics"
    TITLE = "title"


@dataclass(frozen=True)
class _Job:
    request_index: int
    task: _Task
    instruction: str
    budget: int
    seed: int


@dataclass(frozen=True)
class _Written:
    text: str
    # False when the text was cut at its token budget rather than ended by the model.
    complete: bool


class Planner:
    """Plans a batch of songs with one chat model; usable in-process or behind Triton."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        settings: PlannerSettings | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        # Decoder-only generation needs the prompts flush against the first new token.
        self.tokenizer.padding_side = "left"
        self.settings = settings or PlannerSettings()
        self._end_ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
        self._spellings = category_spellings()

    @classmethod
    def from_pretrained(
        cls,
        weights_dir: str | Path,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        settings: PlannerSettings | None = None,
    ) -> "Planner":
        tokenizer = AutoTokenizer.from_pretrained(weights_dir)
        device = torch.device(device)
        # On a GPU the weights go straight there as they are read (checkpoints.placement).
        model = AutoModelForCausalLM.from_pretrained(
            weights_dir, dtype=dtype, **checkpoints.placement(device)
        ).to(device)
        return cls(model, tokenizer, settings=settings)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def plan(self, requests: Sequence[PlanRequest]) -> list[SongPlan]:
        if not requests:
            return []
        jobs = [job for index, request in enumerate(requests) for job in self._jobs(index, request)]
        written = dict(
            zip(((job.request_index, job.task) for job in jobs), self._write(jobs), strict=True)
        )

        prompts, lyrics, titles = [], [], []
        for index, request in enumerate(requests):
            if request.mode is SongMode.DESCRIPTION:
                style = written[index, _Task.PROMPT].text
                prompts.append(clean_prompt(style, fallback=request.description))
            else:
                prompts.append(request.prompt)
            if request.instrumental:
                lyrics.append(limits.INSTRUMENTAL_LYRICS)
            elif request.mode is SongMode.LYRICS:
                lyrics.append(request.lyrics)
            else:
                draft = written[index, _Task.LYRICS]
                topic = request.lyrics or request.description
                lyrics.append(clean_lyrics(draft.text, complete=draft.complete, fallback=topic))
            titles.append(clean_title(written[index, _Task.TITLE].text))

        contexts = [
            f"{request.description}\n{prompt}".strip()[: limits.MAX_PROMPT_CHARS]
            for request, prompt in zip(requests, prompts, strict=True)
        ]
        categories = self._categorize(contexts)
        return [
            SongPlan(prompt=p, lyrics=ly, title=t, categories=c)
            for p, ly, t, c in zip(prompts, lyrics, titles, categories, strict=True)
        ]

    def _jobs(self, index: int, request: PlanRequest) -> list[_Job]:
        settings = self.settings
        jobs = []
        if request.mode is SongMode.DESCRIPTION:
            instruction = STYLE_INSTRUCTION.format(description=request.description)
            jobs.append(
                _Job(index, _Task.PROMPT, instruction, settings.prompt_tokens, request.seed)
            )
        if not request.instrumental and request.mode is not SongMode.LYRICS:
            shape = lyrics_shape(request.duration_seconds)
            if request.mode is SongMode.DESCRIPTION:
                about = f"Song description: {request.description}"
            else:
                about = f"Music style: {request.prompt}\nThe lyrics are about: {request.lyrics}"
            instruction = LYRICS_INSTRUCTION.format(
                seconds=f"{request.duration_seconds:.0f}", about=about, sections=shape.describe()
            )
            budget = settings.lyrics_budget(shape)
            jobs.append(_Job(index, _Task.LYRICS, instruction, budget, request.seed))
        about = request.description or f"{request.prompt}\n{request.lyrics[:500]}"
        instruction = TITLE_INSTRUCTION.format(about=about)
        jobs.append(_Job(index, _Task.TITLE, instruction, settings.title_tokens, request.seed))
        return jobs

    def _chat_prefix(self, instruction: str) -> str:
        messages = [
            {"role": "system", "content": SYSTEM_MESSAGE},
            {"role": "user", "content": instruction},
        ]
        # enable_thinking: Qwen3's templates would otherwise let the model think aloud
        # first; other templates ignore it.
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )

    def _write(self, jobs: Sequence[_Job]) -> list[_Written]:
        """Runs every writing job of the batch through one `generate` call."""
        if not jobs:
            return []
        inputs = self.tokenizer(
            [self._chat_prefix(job.instruction) for job in jobs],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(self.device)
        prompt_width = inputs["input_ids"].shape[1]
        budgets = [job.budget for job in jobs]
        sampler = SeededSampler(
            [_generator(job.seed, job.task, self.device) for job in jobs],
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
        )
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=max(budgets),
                min_new_tokens=MIN_NEW_TOKENS,
                # Greedy over the one candidate SeededSampler leaves: a seeded sample.
                do_sample=False,
                logits_processor=LogitsProcessorList(
                    [
                        RepetitionPenaltyLogitsProcessor(
                            self.settings.repetition_penalty, prompt_ignore_length=prompt_width
                        ),
                        sampler,
                    ]
                ),
                stopping_criteria=StoppingCriteriaList([_RowBudgets(prompt_width, budgets)]),
                # The checkpoint's own sampling defaults (generation_config.json) must not
                # add processors of their own: the settings above are the whole recipe.
                temperature=None,
                top_p=None,
                top_k=None,
                repetition_penalty=None,
                eos_token_id=self._end_ids,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, prompt_width:].cpu()
        written = []
        for job, tokens in zip(jobs, new_tokens, strict=True):
            mine = tokens[: job.budget]
            ended = bool(torch.isin(mine, torch.tensor(self._end_ids)).any())
            text = printable(self.tokenizer.decode(mine, skip_special_tokens=True))
            written.append(_Written(text, complete=ended))
        return written

    def _categorize(self, contexts: Sequence[str]) -> list[tuple[str, ...]]:
        """Scores each category's spellings as the model's answer; keeps the best and close
        runners-up.

        A category scores as its best spelling ("Pop", "Hip-Hop", "lo-fi"…), so the model's
        capitalization and punctuation do not count against it. The question is encoded once
        per song; its key/value cache is then shared by all the candidate answers, so scoring
        costs one short forward pass per batch, not one per spelling.
        """
        choices = ", ".join(CATEGORIES)
        questions = self.tokenizer(
            [
                self._chat_prefix(GENRE_QUESTION.format(choices=choices, context=context))
                for context in contexts
            ],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(self.device)
        answers = [
            self.tokenizer(f"{spelling}<|im_end|>", add_special_tokens=False)["input_ids"]
            for _, spelling in self._spellings
        ]
        width = max(map(len, answers))
        answer_ids = torch.tensor(
            [ids + [self.tokenizer.pad_token_id] * (width - len(ids)) for ids in answers]
        )
        answer_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in answers])
        songs, spellings = len(contexts), len(answers)

        with torch.inference_mode():
            asked = self.model(**questions, use_cache=True)
            cache = asked.cache
            cache.batch_repeat_interleave(spellings)  # row song * spellings + spelling
            answered = self.model(
                input_ids=answer_ids.repeat(songs, 1).to(self.device),
                attention_mask=torch.cat(
                    [
                        questions["attention_mask"].repeat_interleave(spellings, dim=0),
                        answer_mask.repeat(songs, 1).to(self.device),
                    ],
                    dim=1,
                ),
                cache=cache,
            )
            # Logits at answer position k predict token k + 1; the question's last logits
            # predict token 0.
            logits = torch.cat(
                [asked.logits[:, -1:].repeat_interleave(spellings, dim=0), answered.logits[:, :-1]],
                dim=1,
            )
            # Only the answer tokens' log-probabilities leave the device, not the vocabulary's.
            logprobs = logits.log_softmax(dim=-1, dtype=torch.float32)
            targets = answer_ids.repeat(songs, 1).to(self.device)
            token_scores = logprobs.gather(2, targets[..., None])[..., 0].cpu()
        mask = answer_mask.repeat(songs, 1)
        scores = ((token_scores * mask).sum(dim=1) / mask.sum(dim=1)).view(songs, spellings)
        owners = torch.tensor([category for category, _ in self._spellings]).expand(songs, -1)
        best_spelling = torch.full((songs, len(CATEGORIES)), -torch.inf).scatter_reduce(
            1, owners, scores, reduce="amax"
        )
        probabilities = best_spelling.softmax(dim=-1)

        chosen = []
        for row in probabilities:
            ranked = row.argsort(descending=True)[: self.settings.max_categories].tolist()
            best = row[ranked[0]]
            chosen.append(
                tuple(
                    CATEGORIES[i]
                    for i in ranked
                    if i == ranked[0] or row[i] >= self.settings.category_ratio * best
                )
            )
        return chosen


class SeededSampler(LogitsProcessor):
    """Samples every row with its own random generator, for greedy decoding to pick.

    `generate` runs greedily; this processor (the last one) leaves each row one candidate:
    the token the Gumbel-max trick draws from the row's tempered, nucleus-filtered
    distribution, with noise from the row's generator. The n-th token of a row therefore
    depends only on its own logits, its seed and n, never on the other rows of the batch:
    a song gets the same texts from the same seed alone or batched, as far as batching
    leaves its logits unchanged (left padding and other batch shapes can move them in the
    last bits, which flips a draw only on a near tie).
    """

    def __init__(self, generators: Sequence[torch.Generator], *, temperature: float, top_p: float):
        self.generators = list(generators)
        self.warpers = LogitsProcessorList(
            [TemperatureLogitsWarper(temperature), TopPLogitsWarper(top_p)]
        )

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logprobs = self.warpers(input_ids, scores.float()).log_softmax(dim=-1)
        # argmax(log p - log E) with E ~ Exp(1) is a draw from p (Gumbel-max).
        exponential = torch.stack(
            [
                torch.empty(scores.shape[-1], device=g.device).exponential_(generator=g)
                for g in self.generators
            ]
        ).to(scores.device)
        drawn = (logprobs - exponential.log()).argmax(dim=-1, keepdim=True)
        return torch.full_like(scores, -torch.inf).scatter(1, drawn, 0.0)


class _RowBudgets(StoppingCriteria):
    """Ends each row at its own token budget (a title needs far fewer than lyrics)."""

    def __init__(self, prompt_width: int, budgets: Sequence[int]):
        self.prompt_width = prompt_width
        self.budgets = torch.tensor(budgets)

    def __call__(
        self, input_ids: torch.LongTensor, scores: object, **kwargs: object
    ) -> torch.BoolTensor:
        written = input_ids.shape[1] - self.prompt_width
        return (written >= self.budgets).to(input_ids.device)


def _generator(seed: int, task: _Task, device: torch.device) -> torch.Generator:
    """A generator for one text of one song: each task draws from a stream of its own."""
    digest = hashlib.blake2b(f"{task.value}:{seed}".encode(), digest_size=8).digest()
    return torch.Generator(device).manual_seed(int.from_bytes(digest) >> 1)


def category_spellings() -> list[tuple[int, str]]:
    """(index in CATEGORIES, spelling) for every way a model may write each name.

    Lower case, capitalized and title case, each with the words of a name apart, hyphenated
    or joined: "hip hop" also as "Hip-Hop" and "hiphop", "lo-fi" also as "Lo-Fi" and "lofi".
    """
    spellings = []
    for index, name in enumerate(CATEGORIES):
        words = re.split(r"[\s-]+", name)
        joined = {" ".join(words), "-".join(words), "".join(words)}
        forms = {form for text in joined for form in (text, text.capitalize(), text.title())}
        spellings += [(index, form) for form in sorted(forms)]
    return spellings

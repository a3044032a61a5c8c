"""The planner: turns a song request into the texts the music and cover models need.

A Qwen instruct model writes the style prompt (description mode), the lyrics (when they were
described rather than given) and a title, all in one batched `generate` call with left
padding. Categories are chosen by scoring every name of the fixed vocabulary as the model's
answer, so the result is always a valid category however the model behaves.
"""

import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from engines import limits
from engines.categories import CATEGORIES
from engines.schema import PlanRequest, SongMode, SongPlan

SYSTEM_MESSAGE = "You are the songwriting planner of Neutone, an AI music app."
STYLE_INSTRUCTION = (
    "Write a one-line music style prompt for this song: genre, mood, instruments and tempo, "
    "comma separated.\nSong description: {description}"
)
LYRICS_INSTRUCTION = (
    "Write short song lyrics with [verse] and [chorus] sections, one lyric line per line.\n"
    "The lyrics are about: {topic}"
)
TITLE_INSTRUCTION = (
    "Write a short song title, at most six words. Reply with the title only.\n{about}"
)
GENRE_QUESTION = "Which genre fits this song best? Reply with the genre only.\n{context}"

_SECTION_TAG = re.compile(
    r"^\s*\[(verse|chorus|bridge|intro|outro|pre-chorus|hook)[^\]]*\]", re.I | re.M
)
_TITLE_NOISE = re.compile(r"^(title\s*:\s*)|[\"*#`]", re.I)


@dataclass(frozen=True, kw_only=True)
class PlannerSettings:
    """Generation budget and category choice; from the model config's parameters in Triton."""

    prompt_tokens: int = 48
    lyrics_tokens: int = 96
    title_tokens: int = 12
    # Keeps greedy decoding from looping on one phrase without giving up determinism.
    repetition_penalty: float = 1.1
    max_categories: int = 3
    # A runner-up category is kept when its probability is at least this share of the best's.
    category_ratio: float = 0.5


class _Task(Enum):
    PROMPT = "prompt"
    LYRICS = "lyrics"
    TITLE = "title"


@dataclass(frozen=True)
class _Job:
    request_index: int
    task: _Task
    instruction: str


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
        model = AutoModelForCausalLM.from_pretrained(weights_dir, dtype=dtype).to(device)
        return cls(model, tokenizer, settings=settings)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def plan(self, requests: Sequence[PlanRequest]) -> list[SongPlan]:
        if not requests:
            return []
        jobs = [job for index, request in enumerate(requests) for job in _jobs(index, request)]
        written = dict(
            zip(((job.request_index, job.task) for job in jobs), self._write(jobs), strict=True)
        )

        prompts, lyrics, titles = [], [], []
        for index, request in enumerate(requests):
            if request.mode is SongMode.DESCRIPTION:
                prompts.append(_clean_prompt(written[index, _Task.PROMPT], request.description))
            else:
                prompts.append(request.prompt)
            if request.instrumental:
                lyrics.append(limits.INSTRUMENTAL_LYRICS)
            elif request.mode is SongMode.LYRICS:
                lyrics.append(request.lyrics)
            else:
                topic = request.lyrics or request.description
                lyrics.append(_structure_lyrics(written[index, _Task.LYRICS], topic))
            titles.append(_clean_title(written[index, _Task.TITLE]))

        contexts = [
            _truncate(f"{request.description}\n{prompt}".strip(), limits.MAX_PROMPT_CHARS)
            for request, prompt in zip(requests, prompts, strict=True)
        ]
        categories = self._categorize(contexts)
        return [
            SongPlan(prompt=p, lyrics=ly, title=t, categories=c)
            for p, ly, t, c in zip(prompts, lyrics, titles, categories, strict=True)
        ]

    def _chat_prefix(self, instruction: str) -> str:
        messages = [
            {"role": "system", "content": SYSTEM_MESSAGE},
            {"role": "user", "content": instruction},
        ]
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _write(self, jobs: Sequence[_Job]) -> list[str]:
        """Runs every writing job of the batch through one `generate` call."""
        if not jobs:
            return []
        budgets = {
            _Task.PROMPT: self.settings.prompt_tokens,
            _Task.LYRICS: self.settings.lyrics_tokens,
            _Task.TITLE: self.settings.title_tokens,
        }
        inputs = self.tokenizer(
            [self._chat_prefix(job.instruction) for job in jobs],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(self.device)
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=max(budgets[job.task] for job in jobs),
                # A few tokens at least, so a model that ends at once still leaves text.
                min_new_tokens=min(4, *(budgets[job.task] for job in jobs)),
                do_sample=False,
                repetition_penalty=self.settings.repetition_penalty,
                eos_token_id=self._end_ids,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1] :].cpu()
        return [
            _printable(self.tokenizer.decode(tokens[: budgets[job.task]], skip_special_tokens=True))
            for job, tokens in zip(jobs, new_tokens, strict=True)
        ]

    def _categorize(self, contexts: Sequence[str]) -> list[tuple[str, ...]]:
        """Scores each category name as the model's answer; keeps the best and close runners-up.

        The question is encoded once per song; its key/value cache is then shared by all the
        candidate answers, so scoring costs one short forward pass per batch, not one per name.
        """
        questions = self.tokenizer(
            [self._chat_prefix(GENRE_QUESTION.format(context=context)) for context in contexts],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(self.device)
        answers = [
            self.tokenizer(f"{name}<|im_end|>", add_special_tokens=False)["input_ids"]
            for name in CATEGORIES
        ]
        width = max(map(len, answers))
        answer_ids = torch.tensor(
            [ids + [self.tokenizer.pad_token_id] * (width - len(ids)) for ids in answers]
        )
        answer_mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in answers])
        songs, names = len(contexts), len(CATEGORIES)

        with torch.inference_mode():
            asked = self.model(**questions, use_cache=True)
            cache = asked.past_key_values
            cache.batch_repeat_interleave(names)  # row song * names + name
            answered = self.model(
                input_ids=answer_ids.repeat(songs, 1).to(self.device),
                attention_mask=torch.cat(
                    [
                        questions["attention_mask"].repeat_interleave(names, dim=0),
                        answer_mask.repeat(songs, 1).to(self.device),
                    ],
                    dim=1,
                ),
                past_key_values=cache,
            )
            # Logits at answer position k predict token k + 1; the question's last logits
            # predict token 0.
            logits = torch.cat(
                [asked.logits[:, -1:].repeat_interleave(names, dim=0), answered.logits[:, :-1]],
                dim=1,
            )
            logprobs = logits.float().log_softmax(dim=-1).cpu()
        targets = answer_ids.repeat(songs, 1)
        token_scores = logprobs.gather(2, targets[..., None])[..., 0]
        mask = answer_mask.repeat(songs, 1)
        scores = ((token_scores * mask).sum(dim=1) / mask.sum(dim=1)).view(songs, names)
        probabilities = scores.softmax(dim=-1)

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


def _jobs(index: int, request: PlanRequest) -> list[_Job]:
    jobs = []
    if request.mode is SongMode.DESCRIPTION:
        jobs.append(
            _Job(index, _Task.PROMPT, STYLE_INSTRUCTION.format(description=request.description))
        )
    if not request.instrumental and request.mode is not SongMode.LYRICS:
        topic = request.lyrics or request.description
        jobs.append(_Job(index, _Task.LYRICS, LYRICS_INSTRUCTION.format(topic=topic)))
    about = request.description or f"{request.prompt}\n{request.lyrics[:500]}"
    jobs.append(_Job(index, _Task.TITLE, TITLE_INSTRUCTION.format(about=about)))
    return jobs


def _printable(text: str) -> str:
    """Drops control characters and the replacement marks of bytes cut mid-character."""
    return "".join(
        char
        for char in text
        if char == "\n" or (char != "\ufffd" and not unicodedata.category(char).startswith("C"))
    )


def _truncate(text: str, max_chars: int) -> str:
    return text[:max_chars].strip()


def _clean_prompt(written: str, fallback: str) -> str:
    prompt = " ".join(written.split())
    return _truncate(prompt, limits.MAX_PROMPT_CHARS) or _truncate(
        fallback, limits.MAX_PROMPT_CHARS
    )


def _clean_title(written: str) -> str:
    first_line = next((line for line in written.splitlines() if line.strip()), "")
    words = _TITLE_NOISE.sub("", first_line).split()[:8]
    return _truncate(" ".join(words), limits.MAX_TITLE_CHARS) or "Untitled"


def _structure_lyrics(written: str, topic: str) -> str:
    """Returns lyrics with section tags, adding [verse]/[chorus] when the model left them out."""
    text = "\n".join(line.strip() for line in written.splitlines() if line.strip())
    if _SECTION_TAG.search(text):
        return _truncate(text, limits.MAX_LYRICS_CHARS)
    # Wrapping (rather than counting words) also bounds lines of text without spaces.
    lines = textwrap.wrap(" ".join(text.split()) or topic, width=40)
    half = max(1, (len(lines) + 1) // 2)
    verse, chorus = lines[:half], lines[half:] or lines[:half]
    lyrics = "[verse]\n" + "\n".join(verse) + "\n\n[chorus]\n" + "\n".join(chorus)
    return _truncate(lyrics, limits.MAX_LYRICS_CHARS)

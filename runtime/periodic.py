"""Background chores a service process repeats for as long as it runs."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()


async def repeat(
    every_seconds: float, chore: Callable[[], Awaitable[object]], *, what: str
) -> None:
    """Runs `chore` every `every_seconds` until cancelled. A failed run is logged
    and tried again at the next one: a blip must not end the chore for good."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            done = await chore()
        except Exception:
            log.exception("a background chore failed; trying again later", chore=what)
            continue
        if done:
            log.info("background chore", chore=what, result=done)

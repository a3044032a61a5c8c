"""The built browser app (web/dist) with history fallback: any GET that is not a
file gets index.html, so /songs/<id> can be opened, reloaded and shared."""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

# Vite puts content-hashed files here: they never change under the same name.
ASSETS = "assets/"
# Sent with every file of the app.
PAGE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SinglePageApp(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            # A missing asset is a real 404: answering HTML would only confuse the browser.
            if error.status_code != 404 or path.startswith(ASSETS):
                raise
            response = await super().get_response("index.html", scope)
        if path.startswith(ASSETS):
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["cache-control"] = "no-cache"
        response.headers.update(PAGE_HEADERS)
        return response


class NotBuilt:
    """Stands in for the app when web/dist is missing, saying how to build it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(
            f"the browser app is not built ({self._directory} is missing): run `make setup`",
            status_code=503,
        )
        await response(scope, receive, send)


def web_app(directory: Path) -> SinglePageApp | NotBuilt:
    if not (directory / "index.html").is_file():
        return NotBuilt(directory)
    return SinglePageApp(directory=directory)

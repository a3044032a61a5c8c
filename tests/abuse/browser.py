"""A browser as the gateway sees it: grpc-web calls from the app's origin,
carrying the session cookie it was given."""

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from google.protobuf.message import Message

from neutone.v1 import user_service_pb2
from tests.integration.gateway.grpcweb import Reply, call
from tests.integration.helpers import mailed_token

SESSION_COOKIE = "neutone_session"


@dataclass
class Browser:
    http: httpx.AsyncClient
    origin: str
    # Where the platform's mail goes (the sign-up links).
    outbox: Path
    cookie: str = ""
    # Where the requests appear to come from, as the edge proxy would say.
    forwarded_for: str | None = None
    email: str = field(default_factory=lambda: f"abuse-{uuid.uuid4().hex[:12]}@example.com")
    password: str = "correct horse battery"

    async def call(self, method: str, request: Message | bytes) -> Reply:
        service = method.split(".")[0]
        headers = {"cookie": self.cookie} if self.cookie else {}
        if self.forwarded_for is not None:
            headers["x-forwarded-for"] = self.forwarded_for
        reply = await call(
            self.http,
            f"/neutone.v1.{service}/{method.split('.')[1]}",
            request,
            origin=self.origin,
            headers=headers,
        )
        for value in reply.headers.get_list("set-cookie"):
            if value.startswith(f"{SESSION_COOKIE}="):
                self.cookie = value.split(";", 1)[0]
        return reply

    async def ok(self, method: str, request: Message, response_type: type[Message]) -> Message:
        reply = await self.call(method, request)
        assert reply.status == 0, f"{method}: {reply.status} {reply.message}"
        return response_type.FromString(reply.messages[0])

    async def sign_up(self) -> "Browser":
        """Signs up and follows the mailed link, which signs the browser in."""
        await self.ok(
            "UserService.SignUp",
            user_service_pb2.SignUpRequest(
                email=self.email, password=self.password, display_name="Abuse"
            ),
            user_service_pb2.SignUpResponse,
        )
        token = await asyncio.to_thread(mailed_token, self.outbox, self.email, "confirm-sign-up")
        await self.ok(
            "UserService.ConfirmSignUp",
            user_service_pb2.ConfirmSignUpRequest(token=token),
            user_service_pb2.ConfirmSignUpResponse,
        )
        return self

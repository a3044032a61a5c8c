"""usersvc's limits on password guessing and on sign-ups (README, "Limits").

Every count is a shared rate limit (runtime.ratelimit), taken before the password is
hashed or checked, so parallel calls cannot slip past it. Sign-in has three:

- per account and client: a client that keeps failing on an account is refused
  for that account, while its owner's other clients are not;
- per client, across accounts: against spraying one password over many accounts;
- per account, from clients that never signed into it: beyond the rate, their
  attempts are spaced out (each waits its turn within its deadline, refused only
  when the turn would not fit), so many clients together guess slowly. Clients that
  signed into the account before are exempt: strangers cannot lock the owner out.

A successful sign-in gives its counts back, so in effect they count failures."""

import asyncio
import dataclasses
import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID

from runtime.database import Database
from runtime.errors import ResourceExhausted
from runtime.keys import SigningKey
from runtime.ratelimit import Decision, Limit, RateLimiter, client_network
from usersvc import store
from usersvc.settings import UserServiceSettings

SIGN_IN_LIMITED = "SIGN_IN_RATE_LIMITED"
SIGN_UP_LIMITED = "SIGN_UP_RATE_LIMITED"
TOKEN_EXCHANGES_LIMITED = "TOKEN_EXCHANGES_RATE_LIMITED"
PASSWORD_RESETS_LIMITED = "PASSWORD_RESETS_RATE_LIMITED"


def known_client_key(signing_key: SigningKey) -> bytes:
    """The key of known clients' hashes: derived from usersvc's own private key (a
    secret only usersvc holds), so that it reveals nothing about that key. Rotating
    the key makes every client new to its accounts once."""
    return hmac.new(signing_key.pem(), b"neutone known clients", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """An attempt the limits let through, and what it counted."""

    email: str
    # The client's network (runtime.ratelimit.client_network).
    client: str
    counted_for_account: bool = False

    @property
    def client_key(self) -> str:
        return f"sign-in:client:{self.client}"

    @property
    def account_and_client_key(self) -> str:
        return f"sign-in:account-client:{self.email}:{self.client}"

    @property
    def account_key(self) -> str:
        return f"sign-in:account:{self.email}"


class AccountLimits:
    def __init__(
        self,
        *,
        limiter: RateLimiter,
        database: Database,
        settings: UserServiceSettings,
        known_client_key: bytes,
    ) -> None:
        self._limiter = limiter
        self._db = database
        self._known_client_key = known_client_key
        self._known_client_days = settings.known_client_days
        window = settings.sign_in_failure_window_seconds
        self._per_account_and_client = Limit(
            settings.sign_in_failures_per_account_and_client, window
        )
        self._per_client = Limit(settings.sign_in_failures_per_client, window)
        self._per_account = Limit(settings.sign_in_failures_per_account, window)
        self._sign_ups = Limit(settings.sign_ups_per_client, settings.sign_up_window_seconds)
        self._token_exchanges = Limit(settings.token_exchanges_per_client_per_minute, 60)
        self._password_resets = Limit(
            settings.password_resets_per_client, settings.sign_up_window_seconds
        )
        self._mails = Limit(settings.mails_per_address, settings.sign_up_window_seconds)

    async def check_token_exchange(self, client_address: str) -> None:
        decision = await self._limiter.acquire(
            f"token-exchange:{client_network(client_address)}", self._token_exchanges
        )
        if not decision.allowed:
            raise refused(
                "too many token exchanges from this client", TOKEN_EXCHANGES_LIMITED, decision
            )

    async def admit_sign_up(self, client_address: str) -> None:
        decision = await self._limiter.acquire(
            f"sign-up:{client_network(client_address)}", self._sign_ups
        )
        if not decision.allowed:
            raise refused("too many sign-ups from this client", SIGN_UP_LIMITED, decision)

    async def admit_password_reset(self, client_address: str) -> None:
        decision = await self._limiter.acquire(
            f"password-reset:{client_network(client_address)}", self._password_resets
        )
        if not decision.allowed:
            raise refused(
                "too many password resets asked for from this client",
                PASSWORD_RESETS_LIMITED,
                decision,
            )

    async def may_mail(self, address: str) -> Decision:
        """Counts a mail to `address`, registered or not (so the count tells nothing
        about who is)."""
        return await self._limiter.acquire(f"mail:{address}", self._mails)

    async def admit_sign_in(
        self,
        *,
        email: str,
        account_id: UUID | None,
        client_address: str,
        start_by: float | None,
    ) -> SignInAttempt:
        """Counts the attempt, waiting its turn where the account-wide rate says so
        (until `start_by` at the latest, on the event loop's clock), or refuses it."""
        attempt = SignInAttempt(email=email, client=client_network(client_address))
        for key, limit, what in (
            (attempt.client_key, self._per_client, "from this client"),
            (
                attempt.account_and_client_key,
                self._per_account_and_client,
                "to this account from this client",
            ),
        ):
            decision = await self._limiter.acquire(key, limit)
            if not decision.allowed:
                raise refused(f"too many failed sign-ins {what}", SIGN_IN_LIMITED, decision)
        if account_id is not None and await self._is_known(account_id, attempt.client):
            return attempt
        loop = asyncio.get_running_loop()
        decision = await self._limiter.acquire(
            attempt.account_key,
            self._per_account,
            max_wait_seconds=0.0 if start_by is None else max(0.0, start_by - loop.time()),
        )
        if not decision.allowed:
            raise refused(
                "too many failed sign-ins to this account from new clients",
                SIGN_IN_LIMITED,
                decision,
            )
        await asyncio.sleep(decision.wait_seconds)
        return dataclasses.replace(attempt, counted_for_account=True)

    async def signed_in(self, attempt: SignInAttempt, account_id: UUID) -> None:
        """The attempt succeeded: its counts are given back (the client's failures
        on the account are forgotten), and its client is known to the account."""
        await self._limiter.reset(attempt.account_and_client_key)
        await self._give_back_shared_counts(attempt)
        async with self._db.transaction() as db:
            await store.remember_client(
                db,
                account_id=account_id,
                client_hash=self._client_hash(account_id, attempt.client),
                forget_after_days=self._known_client_days,
            )

    async def not_checked(self, attempt: SignInAttempt) -> None:
        """The attempt's password was never checked (hashing was busy): nothing was
        learnt about it, so its counts are given back."""
        await self._limiter.refund(attempt.account_and_client_key, self._per_account_and_client)
        await self._give_back_shared_counts(attempt)

    async def _give_back_shared_counts(self, attempt: SignInAttempt) -> None:
        """The client's count across accounts, and the account's from new clients."""
        await self._limiter.refund(attempt.client_key, self._per_client)
        if attempt.counted_for_account:
            await self._limiter.refund(attempt.account_key, self._per_account)

    async def _is_known(self, account_id: UUID, client: str) -> bool:
        async with self._db.connection() as db:
            return await store.is_known_client(
                db,
                account_id=account_id,
                client_hash=self._client_hash(account_id, client),
                within_days=self._known_client_days,
            )

    def _client_hash(self, account_id: UUID, client: str) -> bytes:
        message = f"{account_id}\n{client}".encode()
        return hmac.new(self._known_client_key, message, hashlib.sha256).digest()


def refused(message: str, reason: str, decision: Decision) -> ResourceExhausted:
    seconds = decision.retry_after_whole_seconds
    return ResourceExhausted(
        f"{message}; try again in {seconds} s", reason=reason, retry_after_seconds=seconds
    )

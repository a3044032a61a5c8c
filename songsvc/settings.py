"""Settings of songsvc's API process and of its generation worker: what both
use, and what each alone needs (so each pod gets only its own secrets)."""

from pydantic import Field

from engines import limits
from runtime.objectstore import ObjectStoreSettings
from runtime.settings import DataServiceSettings, SecretKey


class SongsSettings(DataServiceSettings):
    """What songsvc's API and its worker share."""

    # Whether the deployment's ACE-Step checkpoint can split stems (the base model
    # can, turbo checkpoints cannot): SeparateStems is FAILED_PRECONDITION without.
    stems_supported: bool = False
    # The most diffusion steps the deployment's checkpoint takes: 8 on ACE-Step 1.5
    # turbo (its guidance is distilled into 8 steps; its Triton model refuses more), so
    # a request for more is refused here, before any credit is reserved.
    max_inference_steps: int = Field(
        default=limits.MAX_INFERENCE_STEPS,
        ge=limits.MIN_INFERENCE_STEPS,
        le=limits.MAX_INFERENCE_STEPS,
    )
    object_store: ObjectStoreSettings = ObjectStoreSettings()
    # Triton's gRPC endpoint: the worker's models, and the planner for SuggestLyrics.
    triton_url: str = "127.0.0.1:8001"
    # Jobs one worker runs at once; several in flight let Triton form batches (the
    # API's time estimates count batches of this size).
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    # However its attempts go, a song not READY this long after CreateSong fails
    # and its credit goes back.
    job_deadline_seconds: float = Field(default=1800.0, ge=1)
    # Credits going back to billing (songsvc.releases): the backoff while billing is away.
    credit_release_retry_base_seconds: float = Field(default=1.0, gt=0)
    credit_release_retry_max_seconds: float = Field(default=60.0, gt=0)


class SongServiceSettings(SongsSettings):
    """songsvc's API process."""

    # HMAC key of page tokens (runtime.pagination), shared by the replicas; it also
    # keys the hashes kept of who played a song.
    page_token_key: SecretKey
    # Songs one person may have queued or generating at once; CreateSong beyond it
    # is RESOURCE_EXHAUSTED.
    max_songs_in_flight: int = Field(default=5, ge=1, le=1000)
    # How often each process looks for credit releases due.
    credit_release_poll_seconds: float = Field(default=5.0, gt=0)
    # Reconciliation: a credit reserved this long ago for a song that does not
    # exist is released; each process checks this often.
    reservation_grace_seconds: float = Field(default=600.0, ge=1)
    reconcile_interval_seconds: float = Field(default=300.0, gt=0)
    # Likes and unlikes one person may make per minute: each is a write, and a
    # like toggled in a loop must not become a load of writes.
    like_changes_per_minute: int = Field(default=30, ge=1)
    # How long a replica may serve a feed page from memory (0 turns the cache off).
    feed_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    # How often WatchSong re-sends queue position and ETA while nothing else changes.
    watch_refresh_seconds: float = Field(default=5.0, gt=0)
    # A WatchSong stream ends after this long, even before READY or FAILED; the
    # client reconnects (the gateway and the edge bound streams a little longer).
    watch_max_seconds: float = Field(default=600.0, gt=0, le=3600)
    # Open WatchSong streams in one songsvc process: per user, and in all.
    watch_streams_per_user: int = Field(default=16, ge=1)
    watch_streams_per_process: int = Field(default=1000, ge=1)
    # An upload no song was made from is deleted this long after CreateUpload.
    upload_keep_unused_seconds: float = Field(default=86400.0, ge=60)
    # Uploads checked at once (each holds its file, up to 50 MB, decoded).
    upload_checks_at_once: int = Field(default=2, ge=1)
    # Downloads converted to WAV or MP3 at once (each holds the song decoded).
    download_conversions_at_once: int = Field(default=2, ge=1)
    # A listener's plays of a song count once per this window (RecordPlay).
    play_window_seconds: float = Field(default=600.0, gt=0, le=86400)
    # Searches one client (account, or address when signed out) may make per
    # minute, in bursts of as many: results follow typing, but each search is a
    # ranked index scan, so a loop of them must not become a load.
    searches_per_minute: int = Field(default=120, ge=1)
    # A search still running after this long is stopped (DEADLINE_EXCEEDED): a
    # query of very common word starts would otherwise rank most of the catalogue.
    search_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # SuggestLyrics: calls of one person per minute (each runs the planner's
    # language model on the GPUs, for free), and how long the planner may take.
    lyrics_suggestions_per_minute: int = Field(default=5, ge=1)
    lyrics_suggestion_timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class WorkerSettings(SongsSettings):
    """The generation worker."""

    triton_timeout_seconds: float = Field(default=900.0, gt=0)
    # A worker renews its lease every third of this; a dead worker's jobs are retried after it.
    job_lease_seconds: float = Field(default=60.0, ge=2)
    # Attempts before a song fails for good (Triton being unreachable does not count).
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    # Exponential backoff between attempts: base * 2^(attempt-1), capped.
    job_retry_base_seconds: float = Field(default=2.0, ge=0)
    job_retry_max_seconds: float = Field(default=60.0, ge=0)
    # How often the worker looks for jobs when no notification arrives.
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    # Tries at storing a finished song's files before the attempt counts as failed
    # (the music is not made again for a store that blinked).
    upload_attempts: int = Field(default=4, ge=1, le=10)
    # The worker is reported dead (its liveness probe, /livez on metrics_port, fails)
    # when its claim loop has not come round for this long, though the process runs:
    # stuck on a lock or a connection that never answers. Well above
    # worker_poll_seconds plus one claim.
    worker_liveness_seconds: float = Field(default=60.0, gt=0)
    # How often the worker reads the queue's depth for its metrics (what autoscalers
    # scale on); the read is also its readiness check (the database answers).
    queue_metrics_seconds: float = Field(default=10.0, gt=0)

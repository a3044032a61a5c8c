"""songsvc's tables, in its own `songs` schema."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID

from runtime.ratelimit import rate_limit_table

metadata = sa.MetaData(schema="songs")


def _time(name: str, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)


# What SearchSongs (and ListMySongs' text filter) match: titles and artist names
# weigh most (A), then style prompts and descriptions (B), then lyrics (C). The
# 'simple' configuration neither stems nor drops words: lyrics are in many
# languages, and a prefix typed so far ("summ") must still match the word
# ("summer"), which a stemmed lexeme ("summer" -> "summer", "running" -> "run")
# would not always.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, title || ' ' || owner_display_name), 'A')"
    " || setweight(to_tsvector('simple'::regconfig,"
    " description || ' ' || prompt || ' ' || coalesce(prompt_used, '')), 'B')"
    " || setweight(to_tsvector('simple'::regconfig, coalesce(lyrics_used, '')), 'C')"
)


songs = sa.Table(
    "songs",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("owner_display_name", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    # Once the owner renames the song, the planner's title no longer replaces it.
    sa.Column("title_from_owner", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("failure_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("prompt", sa.Text, nullable=False, server_default=""),
    sa.Column("lyrics_input", sa.Text, nullable=False, server_default=""),
    sa.Column("instrumental", sa.Boolean, nullable=False),
    sa.Column("duration_seconds", sa.Float, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("guidance_scale", sa.Float, nullable=False),
    sa.Column("inference_steps", sa.Integer, nullable=False),
    # What the planner decided; NULL until planned, so a retried job re-plans only if needed.
    sa.Column("prompt_used", sa.Text),
    sa.Column("lyrics_used", sa.Text),
    sa.Column("categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("audio_key", sa.Text),
    sa.Column("cover_key", sa.Text),
    sa.Column("audio_duration_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("published", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("like_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("play_count", sa.BigInteger, nullable=False, server_default="0"),
    _time("create_time", nullable=False, server_default=sa.func.now()),
    _time("update_time", nullable=False, server_default=sa.func.now()),
    _time("publish_time"),
    # What the song was made from (lineage) and how: the task, its source (a song,
    # which may since be gone, or an upload), the section repainted or where an
    # extension joins, a cover's strength, a style reference.
    sa.Column("task", sa.Text, nullable=False, server_default="text_to_music"),
    sa.Column("source_song_id", UUID(as_uuid=True)),
    sa.Column("source_upload_id", UUID(as_uuid=True)),
    sa.Column("section_start_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("section_end_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("cover_strength", sa.Float),
    sa.Column("reference_upload_id", UUID(as_uuid=True)),
    # Whether others may cover the song once it is published.
    sa.Column("remix_allowed", sa.Boolean, nullable=False, server_default=sa.text("true")),
    # Which take of one CreateSong (1 when it made one).
    sa.Column("take", sa.Integer, nullable=False, server_default="1"),
    # Musical controls: as given, then as the planner proposed; NULL until known.
    sa.Column("bpm", sa.Integer),
    sa.Column("key_scale", sa.Text),
    sa.Column("time_signature", sa.Integer),
    sa.Column("vocal_language", sa.Text),
    # A SeparateStems song's stems, stored at songs/<id>/stems/<stem>.flac.
    sa.Column("stems", ARRAY(sa.Text), nullable=False, server_default="{}"),
    # The waveform (songsvc.audio.peaks), written with READY; NULL for songs made
    # before waveforms were kept.
    sa.Column("peaks", sa.LargeBinary),
    sa.Column("search_document", TSVECTOR, sa.Computed(SEARCH_DOCUMENT, persisted=True)),
    sa.Index("songs_owner_recent", "owner_id", sa.text("create_time DESC"), sa.text("id DESC")),
    # SearchSongs: only published songs are ever searched.
    sa.Index(
        "songs_search",
        "search_document",
        postgresql_using="gin",
        postgresql_where=sa.text("published"),
    ),
    # GetArtist and ListArtistSongs: an artist's published songs, newest first.
    sa.Index(
        "songs_owner_published",
        "owner_id",
        sa.text("publish_time DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("published"),
    ),
    # ListDerivedSongs: what was made from a song, newest first.
    sa.Index(
        "songs_source_recent",
        "source_song_id",
        sa.text("create_time DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("source_song_id IS NOT NULL"),
    ),
    # CreateSong counts the owner's songs in flight (queued or processing).
    sa.Index(
        "songs_owner_in_flight",
        "owner_id",
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
    ),
)

# A song's columns as songsvc.records.Song holds them: all but the search document,
# which only search conditions read (it holds every lyric), and the waveform, which
# only GetSongMedia reads (2 KB a song: never fetched for lists).
SONG_COLUMNS = tuple(
    column for column in songs.c if column.name not in ("search_document", "peaks")
)

# What each CreateSong idempotency key created. A key stays bound to its song
# forever, after the song is deleted too: a retry finds the song, a reuse of the
# key for another request is refused, and a key whose song was deleted never
# creates another (which would otherwise be backed by the old, settled credit).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("owner_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    # Every take the key created, first to last. No foreign key: the binding
    # outlives the songs.
    sa.Column("song_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    # SHA-256 of the request as first sent; NULL for keys bound before it was kept.
    sa.Column("request_hash", sa.LargeBinary),
    _time("create_time", nullable=False, server_default=sa.func.now()),
)

likes = sa.Table(
    "likes",
    metadata,
    sa.Column(
        "song_id",
        UUID(as_uuid=True),
        sa.ForeignKey(songs.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
    _time("create_time", nullable=False, server_default=sa.func.now()),
    # ListLikedSongs: one account's likes, newest first.
    sa.Index(
        "likes_account_recent",
        "account_id",
        sa.text("create_time DESC"),
        sa.text("song_id DESC"),
    ),
)

# Who played a song lately: one row per song and listener (a keyed hash of the
# account, or of the client's address when signed out) until `expire_time`, before
# which the listener's plays of the song are not counted again. Expired rows are
# pruned (songsvc.plays).
listens = sa.Table(
    "listens",
    metadata,
    sa.Column(
        "song_id",
        UUID(as_uuid=True),
        sa.ForeignKey(songs.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("listener", sa.LargeBinary, primary_key=True),
    _time("expire_time", nullable=False),
    sa.Index("listens_expiring", "expire_time"),
)

# The public feed's index: one row per published song and category, plus one
# with category '' for the unfiltered feed. Each feed query is then a single
# keyset range scan, however many songs there are.
feed_entries = sa.Table(
    "feed_entries",
    metadata,
    sa.Column("category", sa.Text, primary_key=True),
    sa.Column(
        "song_id",
        UUID(as_uuid=True),
        sa.ForeignKey(songs.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    _time("publish_time", nullable=False),
    sa.Column("trending_score", sa.Float, nullable=False),
    sa.Index("feed_newest", "category", sa.text("publish_time DESC"), sa.text("song_id DESC")),
    sa.Index("feed_trending", "category", sa.text("trending_score DESC"), sa.text("song_id DESC")),
    sa.Index("feed_entries_song", "song_id"),
)

# The durable generation queue: claimed with FOR UPDATE SKIP LOCKED under a lease
# that a live worker keeps renewing; an expired lease means the worker died.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column(
        "song_id",
        UUID(as_uuid=True),
        sa.ForeignKey(songs.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    # The song's owner, so that claims can take owners in turn without a join.
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker_id", sa.Text),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    _time("enqueue_time", nullable=False, server_default=sa.func.now()),
    _time("run_after", nullable=False, server_default=sa.func.now()),
    # After this the job is given up, however its attempts went: the song fails
    # and its credit goes back.
    _time("deadline_time", nullable=False),
    _time("lease_expire_time"),
    _time("start_time"),
    _time("finish_time"),
    # The W3C traceparent of the call that queued the job, continued by the worker.
    sa.Column("traceparent", sa.Text),
    sa.Index(
        "jobs_claimable",
        "enqueue_time",
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    ),
    # WatchSong's time estimate averages the latest successful jobs.
    sa.Index(
        "jobs_recently_succeeded",
        sa.text("finish_time DESC"),
        postgresql_where=sa.text("state = 'succeeded'"),
    ),
)

# Audio people brought: posted straight to the object store, then checked
# (CompleteUpload); one nobody made a song from is deleted when it expires.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    # What CreateUpload was told, and what arrived.
    sa.Column("declared_size_bytes", sa.BigInteger, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("duration_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("object_key", sa.Text, nullable=False),
    _time("create_time", nullable=False, server_default=sa.func.now()),
    _time("expire_time", nullable=False),
    sa.Index("uploads_owner", "owner_id"),
    sa.Index("uploads_expiring", "expire_time"),
)

# The outbox of credits to give back: written in the same transaction that
# deletes an unfinished song or fails one, and delivered to billing until it
# acknowledges, so a billing outage or a crash never keeps a credit.
credit_releases = sa.Table(
    "credit_releases",
    metadata,
    sa.Column("song_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    _time("create_time", nullable=False, server_default=sa.func.now()),
    _time("next_attempt_time", nullable=False, server_default=sa.func.now()),
    sa.Index("credit_releases_due", "next_attempt_time"),
)

# runtime.ratelimit's counts (likes and unlikes per person).
rate_limits = rate_limit_table(metadata)

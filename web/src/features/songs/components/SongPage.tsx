// One song: a large cover and play button, its waveform (seek on it), the
// lyrics by section, the settings it was made with, like, share and download;
// live status while it is made; where it came from and what was made from it;
// the tools to keep working on it; and for its owner rename, publish, covers
// allowed or not, and delete.
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Headphones, Share2, Sparkles, Trash2 } from "lucide-react";
import { problemOf, type Problem } from "@/lib/api";
import { useAnnounce } from "@/components/Announcer";
import { ErrorBanner, Field } from "@/components/Field";
import { Waveform } from "@/components/Waveform";
import { formatCountOf } from "@/lib/format";
import { SongStatus, type Song } from "@/gen/neutone/v1/song_pb";
import { useSession } from "@/features/auth";
import { PlayButton, useNowPlaying, usePlaybackTime, usePlayer } from "@/features/player";
import { controlsText, createdOn, useSongMedia, useWatchedSong, workLabel } from "../api/songs";
import { useDeleteSong, useDerivedSongs, useSong, useUpdateSong, type Editable } from "../api/queries";
import { lyricSections } from "../lyrics";
import { Cover } from "./Cover";
import { Download } from "./Download";
import { ArtistLink, LikeButton } from "./SongCard";
import { StatusLine } from "./SongStatus";
import { WorkOnSong } from "./WorkOnSong";

export function SongPage() {
  const songId = useParams().songId ?? "";
  const { data, error } = useSong(songId);
  if (error) return <ErrorBanner message={problemOf(error).message} />;
  if (!data?.song) return <p className="muted">Loading…</p>;
  return <SongDetail key={data.song.id} initial={data.song} />;
}

function SongDetail({ initial }: { initial: Song }) {
  const { user } = useSession();
  const isOwner = user?.id === initial.ownerId;
  const watched = useWatchedSong(initial);
  // Edits made here win over the (possibly older) streamed copy.
  const [edits, setEdits] = useState<Editable | null>(null);
  const song = edits ? { ...watched.song, ...edits } : watched.song;
  const ready = song.status === SongStatus.READY;
  const media = useSongMedia(song.id, ready);
  const title = song.title || "Untitled song";

  return (
    <article className="grid gap-8" aria-labelledby="song-title">
      <div className="grid gap-6 md:grid-cols-[minmax(0,20rem)_1fr] md:items-end">
        <Cover url={media.media?.cover} seed={song.id} eager className="max-w-80" />
        <div className="grid gap-3">
          <Lineage song={song} />
          <h1 id="song-title" className="m-0 text-4xl sm:text-5xl">
            {title}
          </h1>
          <p className="m-0 text-muted">
            by <ArtistLink song={song} /> · {createdOn(song)}
            {song.published ? " · published" : " · private"}
          </p>
          {song.categories.length > 0 && (
            <ul className="tags" aria-label="Categories">
              {song.categories.map((category) => (
                <li key={category}>{category}</li>
              ))}
            </ul>
          )}
          <StatusLine progress={watched} />
          {media.error && <p className="error">Cannot play this song: {media.error}</p>}
          <div className="flex flex-wrap items-center gap-3">
            {ready && <PlayButton song={song} size="lg" />}
            {song.published && <LikeButton song={song} />}
            {song.published && (
              <span className="inline-flex items-center gap-1 text-sm text-muted">
                <Headphones aria-hidden className="size-4" /> {formatCountOf(song.playCount, "play")}
              </span>
            )}
            <ShareButton song={song} />
            {user && ready && (
              <Link to={`/create?from=${song.id}`} className="inline-flex items-center gap-1 text-sm">
                <Sparkles aria-hidden className="size-4" /> Reuse prompt
              </Link>
            )}
          </div>
        </div>
      </div>
      {ready && <SongWaveform song={song} audioUrl={media.media?.audio} peaks={media.media?.peaks} />}
      {ready && <Download song={song} />}
      <div className="grid gap-8 lg:grid-cols-2">
        <Lyrics song={song} />
        <MadeWith song={song} />
      </div>
      {user && <DerivedSongs song={song} />}
      {user && ready && (
        <WorkOnSong
          source={{ case: "songId", value: song.id }}
          title={song.title || "this song"}
          durationSeconds={song.audioDurationSeconds}
          audioUrl={media.media?.audio}
          peaks={media.media?.peaks}
          canEdit={isOwner}
          canCover={isOwner || (song.published && song.remixAllowed)}
        />
      )}
      {isOwner && <OwnerActions song={song} onChange={setEdits} />}
    </article>
  );
}

/** The song's waveform: the part played so far while it plays; a click plays or seeks. */
function SongWaveform({
  song,
  audioUrl,
  peaks,
}: {
  song: Song;
  audioUrl: string | undefined;
  peaks: Uint8Array | undefined;
}) {
  const now = useNowPlaying();
  const time = usePlaybackTime();
  const controls = usePlayer();
  const current = now.song?.id === song.id;
  const duration = current && time.duration ? time.duration : song.audioDurationSeconds;
  return (
    <Waveform
      audioUrl={audioUrl}
      peaks={peaks}
      durationSeconds={duration}
      played={current && duration ? time.current / duration : 0}
      onSeek={(seconds) => {
        if (current) controls.seek(seconds);
        else controls.playQueue([song], 0);
      }}
      label={`Waveform of ${song.title || "the song"}`}
    />
  );
}

/** Copies the song's link, or opens the system's share sheet where there is one (phones). */
function ShareButton({ song }: { song: Song }) {
  const announce = useAnnounce();
  const url = `${window.location.origin}/songs/${song.id}`;
  async function share() {
    const data = { title: song.title || "A song on Neutone", text: `${song.title} by ${song.ownerDisplayName}`, url };
    const phone = window.matchMedia("(pointer: coarse)").matches;
    if (phone && navigator.share && navigator.canShare?.(data)) {
      try {
        await navigator.share(data);
        return;
      } catch (error) {
        // Dismissing the share sheet is not a failure.
        if (error instanceof DOMException && error.name === "AbortError") return;
      }
    }
    try {
      await navigator.clipboard.writeText(url);
      announce({ text: "Link copied" });
    } catch {
      announce({ text: `Copy this link: ${url}`, tone: "error" });
    }
  }
  return (
    <button type="button" className="secondary min-h-9 px-3 py-1 text-sm" onClick={share}>
      <Share2 aria-hidden className="size-4" /> Share
    </button>
  );
}

function Lyrics({ song }: { song: Song }) {
  if (song.instrumental) {
    return (
      <section aria-labelledby="lyrics-heading">
        <h2 id="lyrics-heading">Lyrics</h2>
        <p className="muted">Instrumental.</p>
      </section>
    );
  }
  const sections = lyricSections(song.lyricsUsed);
  if (sections.length === 0) return null;
  return (
    <section aria-labelledby="lyrics-heading">
      <h2 id="lyrics-heading">Lyrics</h2>
      <div className="grid gap-4">
        {sections.map((part, index) => (
          <div key={index}>
            {part.name && <h3 className="m-0 text-sm font-semibold uppercase tracking-wider text-muted">{part.name}</h3>}
            <p className="m-0 whitespace-pre-line text-lg leading-relaxed">{part.lines.join("\n")}</p>
          </div>
        ))}
      </div>
    </section>
  );
}

function MadeWith({ song }: { song: Song }) {
  const controls = controlsText(song.controls);
  return (
    <section aria-labelledby="made-heading">
      <h2 id="made-heading">How it was made</h2>
      <dl>
        {song.description && (
          <>
            <dt>Description</dt>
            <dd>{song.description}</dd>
          </>
        )}
        {song.promptUsed && (
          <>
            <dt>Style</dt>
            <dd>{song.promptUsed}</dd>
          </>
        )}
        {controls && (
          <>
            <dt>Musical settings</dt>
            <dd>{controls}</dd>
          </>
        )}
        <dt>Settings</dt>
        <dd>
          {song.instrumental ? "instrumental, " : ""}
          {song.params?.durationSeconds} s, seed {song.params?.seed.toString()}, guidance{" "}
          {song.params?.guidanceScale}, {song.params?.inferenceSteps} steps
        </dd>
      </dl>
    </section>
  );
}

/** "Extension of <source>", "Cover of an upload", "Take 2"; nothing for a first take. */
function Lineage({ song }: { song: Song }) {
  const work = workLabel(song);
  if (!work) return null;
  const sourceId = song.lineage?.sourceSongId;
  return (
    <p className="m-0">
      <span className="badge">{work}</span>{" "}
      {sourceId ? (
        <Link to={`/songs/${sourceId}`}>of the original song</Link>
      ) : song.lineage?.sourceUploadId ? (
        "of an uploaded recording"
      ) : null}
    </p>
  );
}

/** The songs made from this one that the caller can see. */
function DerivedSongs({ song }: { song: Song }) {
  const derived = useDerivedSongs(song.id).data?.songs ?? [];
  if (derived.length === 0) return null;
  return (
    <section aria-labelledby="derived-heading">
      <h2 id="derived-heading">Made from this song</h2>
      <ul className="grid gap-1 pl-5">
        {derived.map((child) => (
          <li key={child.id}>
            <Link to={`/songs/${child.id}`}>{child.title || "Untitled song"}</Link>{" "}
            <span className="muted">
              {workLabel(child)} by {child.ownerDisplayName}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function OwnerActions({ song, onChange }: { song: Song; onChange(edits: Editable): void }) {
  const navigate = useNavigate();
  const updater = useUpdateSong();
  const deleter = useDeleteSong();
  const [title, setTitle] = useState(song.title);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string>();

  async function update(paths: string[], values: Partial<Editable>) {
    setProblem(null);
    setNotice(undefined);
    try {
      const reply = await updater.update(song.id, paths, values);
      if (reply.song) {
        onChange({
          title: reply.song.title,
          published: reply.song.published,
          remixAllowed: reply.song.remixAllowed,
        });
        setTitle(reply.song.title);
        setNotice("Saved.");
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  async function remove() {
    try {
      await deleter.mutateAsync({ songId: song.id });
      navigate("/songs");
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  const ready = song.status === SongStatus.READY;
  const titleError = problem?.fields["song.title"];
  return (
    <section className="owner" aria-labelledby="manage-heading">
      <h2 id="manage-heading">Manage</h2>
      <ErrorBanner message={problem && !titleError ? problem.message : undefined} />
      {notice && <p role="status">{notice}</p>}
      <form
        aria-label="Rename"
        noValidate
        className="max-w-xl"
        onSubmit={(event) => {
          event.preventDefault();
          update(["title"], { title });
        }}
      >
        <Field label="Title" hint="1-80 characters." error={titleError}>
          {(props) => (
            <input {...props} maxLength={80} value={title} onChange={(e) => setTitle(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="justify-self-start">
          Rename
        </button>
      </form>
      <div className="actions">
        <button
          type="button"
          disabled={!ready}
          title={ready ? undefined : "Only a ready song can be published"}
          onClick={() => update(["published"], { published: !song.published })}
        >
          {song.published ? "Unpublish" : "Publish"}
        </button>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={song.remixAllowed}
            onChange={(e) => update(["remix_allowed"], { remixAllowed: e.target.checked })}
          />
          Others may make covers once it is published
        </label>
        {confirming ? (
          <span role="group" aria-label="Confirm deletion" className="actions">
            Delete “{song.title}” for good?{" "}
            <button type="button" className="danger" onClick={remove}>
              Yes, delete
            </button>{" "}
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            <Trash2 aria-hidden className="size-4" /> Delete
          </button>
        )}
      </div>
    </section>
  );
}

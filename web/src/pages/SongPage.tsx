// One song: live status while it is made, the player, where it came from and
// what was made from it, downloads, the tools to keep working on it, and for
// its owner rename, publish/unpublish, covers allowed or not, and delete.
import { useEffect, useState } from "react";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { problemOf, songs, type Problem } from "../api";
import { ErrorBanner, Field } from "../components/Field";
import { Download } from "../components/Download";
import { Player } from "../components/Player";
import { LikeButton } from "../components/SongCard";
import { StatusLine } from "../components/SongStatus";
import { WorkOnSong } from "../components/WorkOnSong";
import { SongStatus, type Song } from "../gen/neutone/v1/song_pb";
import { navigate, onLinkClick } from "../router";
import { useSession } from "../session";
import { controlsText, createdOn, useSongMedia, useWatchedSong, workLabel } from "../songs";

export function SongPage({ songId }: { songId: string }) {
  const [song, setSong] = useState<Song | null>(null);
  const [error, setError] = useState<string>();

  useEffect(() => {
    setSong(null);
    songs
      .getSong({ songId })
      .then((reply) => setSong(reply.song ?? null))
      .catch((err) => setError(problemOf(err).message));
  }, [songId]);

  if (error) return <ErrorBanner message={error} />;
  if (!song) return <p className="muted">Loading…</p>;
  return <SongDetail key={song.id} initial={song} />;
}

function SongDetail({ initial }: { initial: Song }) {
  const { user } = useSession();
  const isOwner = user?.id === initial.ownerId;
  const watched = useWatchedSong(initial);
  // Edits made here win over the (possibly older) streamed copy.
  const [edits, setEdits] = useState<Editable | null>(null);
  const song = edits ? { ...watched.song, ...edits } : watched.song;
  const [plays, setPlays] = useState(song.playCount);
  const ready = song.status === SongStatus.READY;
  const media = useSongMedia(song.id, ready);
  const controls = controlsText(song.controls);

  return (
    <section className="narrow">
      <h1>{song.title || "Untitled song"}</h1>
      <p className="muted">
        by {song.ownerDisplayName} · {createdOn(song)}
        {song.published ? " · published" : " · private"}
      </p>
      <Lineage song={song} />
      {song.categories.length > 0 && (
        <ul className="tags" aria-label="Categories">
          {song.categories.map((category) => (
            <li key={category}>{category}</li>
          ))}
        </ul>
      )}
      <StatusLine progress={watched} />
      {ready && <Player song={song} media={media} onPlayed={setPlays} />}
      {ready && <Download song={song} />}
      {song.published && (
        <p className="counts">
          <LikeButton song={song} /> <span>▶ {plays.toString()} plays</span>
        </p>
      )}
      {user && ready && (
        <p>
          <a href={`/create?from=${song.id}`} onClick={onLinkClick}>
            Reuse prompt
          </a>
        </p>
      )}
      {user && ready && (
        <WorkOnSong
          source={{ case: "songId", value: song.id }}
          title={song.title || "this song"}
          durationSeconds={song.audioDurationSeconds}
          audioUrl={media.media?.audio}
          canEdit={isOwner}
          canCover={isOwner || (song.published && song.remixAllowed)}
        />
      )}
      {user && <DerivedSongs song={song} />}
      {isOwner && <OwnerActions song={song} onChange={setEdits} />}
      <details>
        <summary>How it was made</summary>
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
          {song.lyricsUsed && (
            <>
              <dt>Lyrics</dt>
              <dd className="lyrics">{song.lyricsUsed}</dd>
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
      </details>
    </section>
  );
}

type Editable = Pick<Song, "title" | "published" | "remixAllowed">;

/** "Extension of <source>", "Cover of an upload", "Take 2"; nothing for a first take. */
function Lineage({ song }: { song: Song }) {
  const work = workLabel(song);
  if (!work) return null;
  const sourceId = song.lineage?.sourceSongId;
  return (
    <p className="lineage">
      <span className="badge">{work}</span>{" "}
      {sourceId ? (
        <a href={`/songs/${sourceId}`} onClick={onLinkClick}>
          of the original song
        </a>
      ) : song.lineage?.sourceUploadId ? (
        "of an uploaded recording"
      ) : null}
    </p>
  );
}

/** The songs made from this one that the caller can see. */
function DerivedSongs({ song }: { song: Song }) {
  const [derived, setDerived] = useState<Song[]>([]);
  useEffect(() => {
    songs
      .listDerivedSongs({ songId: song.id, pageSize: 20 })
      .then((reply) => setDerived(reply.songs))
      .catch(console.error);
  }, [song.id]);
  if (derived.length === 0) return null;
  return (
    <section aria-labelledby="derived-heading">
      <h2 id="derived-heading">Made from this song</h2>
      <ul className="derived">
        {derived.map((child) => (
          <li key={child.id}>
            <a href={`/songs/${child.id}`} onClick={onLinkClick}>
              {child.title || "Untitled song"}
            </a>{" "}
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
  const [title, setTitle] = useState(song.title);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string>();

  async function update(paths: string[], values: Partial<Editable>) {
    setProblem(null);
    setNotice(undefined);
    try {
      const reply = await songs.updateSong({
        song: { id: song.id, ...values },
        updateMask: create(FieldMaskSchema, { paths }),
      });
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
      await songs.deleteSong({ songId: song.id });
      navigate("/songs");
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  const ready = song.status === SongStatus.READY;
  const titleError = problem?.fields["song.title"];
  return (
    <div className="owner">
      <h2>Manage</h2>
      <ErrorBanner message={problem && !titleError ? problem.message : undefined} />
      {notice && <p role="status">{notice}</p>}
      <form
        aria-label="Rename"
        noValidate
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
        <button type="submit">Rename</button>
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
          <span role="group" aria-label="Confirm deletion">
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
            Delete
          </button>
        )}
      </div>
    </div>
  );
}

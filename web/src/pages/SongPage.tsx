// One song: live status while it is made, the player, and for its owner
// rename, publish/unpublish and delete.
import { useEffect, useState } from "react";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { problemOf, songs, type Problem } from "../api";
import { ErrorBanner, Field } from "../components/Field";
import { Player } from "../components/Player";
import { LikeButton } from "../components/SongCard";
import { StatusLine } from "../components/SongStatus";
import { SongStatus, type Song } from "../gen/neutone/v1/song_pb";
import { navigate } from "../router";
import { useSession } from "../session";
import { createdOn, useWatchedSong } from "../songs";

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
  const [edits, setEdits] = useState<Pick<Song, "title" | "published"> | null>(null);
  const song = edits ? { ...watched.song, ...edits } : watched.song;
  const [plays, setPlays] = useState(song.playCount);

  return (
    <section className="narrow">
      <h1>{song.title || "Untitled song"}</h1>
      <p className="muted">
        by {song.ownerDisplayName} · {createdOn(song)}
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
      {song.status === SongStatus.READY && <Player song={song} onPlayed={setPlays} />}
      {song.published && (
        <p className="counts">
          <LikeButton song={song} /> <span>▶ {plays.toString()} plays</span>
        </p>
      )}
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

function OwnerActions({
  song,
  onChange,
}: {
  song: Song;
  onChange(edits: Pick<Song, "title" | "published">): void;
}) {
  const [title, setTitle] = useState(song.title);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string>();

  async function update(paths: string[], values: { title?: string; published?: boolean }) {
    setProblem(null);
    setNotice(undefined);
    try {
      const reply = await songs.updateSong({
        song: { id: song.id, ...values },
        updateMask: create(FieldMaskSchema, { paths }),
      });
      if (reply.song) {
        onChange({ title: reply.song.title, published: reply.song.published });
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

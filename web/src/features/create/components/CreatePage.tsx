// Describe a song three ways (in 1-4 takes, with optional musical controls and
// an upload's style), or start from one of your songs or an upload and keep
// working on it. Limits as documented in song_service.proto.
import { useEffect, useState } from "react";
import { PenLine } from "lucide-react";
import { problemOf, type Problem } from "@/lib/api";
import { ErrorBanner, Field, InputField } from "@/components/Field";
import { RadioChoices, type Choice } from "@/components/RadioChoices";
import {
  BPM,
  KEY_SCALES,
  TIME_SIGNATURES,
  VOCAL_LANGUAGES,
  languageName,
  useSongMedia,
} from "@/features/songs";
import { UploadAudio, WorkOnSong, type Uploaded } from "@/features/songs/tools";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useSession } from "@/features/auth";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Song } from "@/gen/neutone/v1/song_pb";
import type { CreateSongRequestSchema } from "@/gen/neutone/v1/song_service_pb";
import { useCreateSong, useReadySongs, useSongToReuse, useSuggestLyrics } from "../api/queries";
import { recall, remember, type RememberedSettings } from "../settingsMemory";
import { hasTag, STYLE_TAGS, toggleTag } from "../styleTags";

type Start = "new" | "song" | "upload";

const STARTS: Choice<Start>[] = [
  { value: "new", label: "Something new" },
  { value: "song", label: "One of my songs" },
  { value: "upload", label: "A recording of mine" },
];

type Mode = "description" | "described_lyrics" | "custom_lyrics";

const MODES: Choice<Mode>[] = [
  { value: "description", label: "Describe the song" },
  { value: "described_lyrics", label: "Style + what the lyrics are about" },
  { value: "custom_lyrics", label: "Style + my own lyrics" },
];

// The documented limits (song_service.proto, song.proto).
const LIMITS = {
  text: 1000,
  lyrics: 4000,
  duration: { min: 10, max: 240, default: 30 },
  guidance: { min: 1, max: 15, default: 7 },
  steps: { min: 1, max: 100, default: 8 },
  takes: { max: 4, default: 2 },
};

const DEFAULT_SETTINGS: RememberedSettings = {
  duration: String(LIMITS.duration.default),
  guidance: String(LIMITS.guidance.default),
  steps: String(LIMITS.steps.default),
  takes: String(LIMITS.takes.default),
  bpm: "",
  keyScale: "",
  timeSignature: "",
  language: "",
};

/** Style words to add to the prompt with a tap (and take out again). */
function StyleSuggestions({ prompt, onChange }: { prompt: string; onChange(prompt: string): void }) {
  return (
    <div role="group" aria-label="Style suggestions" className="-mt-2 flex flex-wrap gap-1.5">
      {STYLE_TAGS.map((tag) => {
        const chosen = hasTag(prompt, tag);
        return (
          <button
            key={tag}
            type="button"
            aria-pressed={chosen}
            className={`min-h-8 px-3 py-0.5 text-sm font-medium ${chosen ? "" : "secondary"}`}
            onClick={() => onChange(toggleTag(prompt, tag))}
          >
            {tag}
          </button>
        );
      })}
    </div>
  );
}

/** A musical control: one of its options, or empty to leave it to the planner. */
function ControlField({
  label,
  error,
  any,
  options,
  optionName = (option) => option,
  value,
  onChange,
}: {
  label: string;
  error: string | undefined;
  /** The empty option's text. */
  any: string;
  options: readonly string[];
  optionName?: (option: string) => string;
  value: string;
  onChange(value: string): void;
}) {
  return (
    <Field label={label} error={error}>
      {(props) => (
        <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">{any}</option>
          {options.map((option) => (
            <option key={option} value={option}>
              {optionName(option)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

const MAX_SEED = 2n ** 63n - 1n;

// Anything but a whole number in range becomes -1, which the server refuses
// with a violation on params.seed, shown next to the field.
function seedValue(text: string): bigint {
  const value = /^\d{1,19}$/.test(text.trim()) ? BigInt(text.trim()) : -1n;
  return value <= MAX_SEED ? value : -1n;
}

function newKey(): string {
  return crypto.randomUUID();
}

export function CreatePage() {
  const [start, setStart] = useState<Start>("new");
  const [reference, setReference] = useState<Uploaded | null>(null);
  return (
    <section className="narrow">
      <h1>Create a song</h1>
      <RadioChoices
        legend="Start from"
        name="start"
        options={STARTS}
        value={start}
        onChange={setStart}
      />
      {start === "new" && (
        <NewSongForm reference={reference} onDropReference={() => setReference(null)} />
      )}
      {start === "song" && <FromMySong />}
      {start === "upload" && (
        <FromUpload
          onUseStyle={(uploaded) => {
            setReference(uploaded);
            setStart("new");
          }}
        />
      )}
    </section>
  );
}

/** Pick one of your ready songs, then the tools to work on it. */
function FromMySong() {
  const [chosen, setChosen] = useState("");
  const ready = useReadySongs().data?.songs ?? null;
  if (ready === null) return <p className="muted">Loading your songs…</p>;
  if (ready.length === 0) return <p>None of your songs is ready yet.</p>;
  const song = ready.find((candidate) => candidate.id === chosen);
  return (
    <>
      <Field label="Song">
        {(props) => (
          <select {...props} value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">Choose a song</option>
            {ready.map((option) => (
              <option key={option.id} value={option.id}>
                {option.title || "Untitled song"}
              </option>
            ))}
          </select>
        )}
      </Field>
      {song && <SongTools song={song} />}
    </>
  );
}

function SongTools({ song }: { song: Song }) {
  const { media } = useSongMedia(song.id, true);
  return (
    <WorkOnSong
      key={song.id}
      source={{ case: "songId", value: song.id }}
      title={song.title || "this song"}
      durationSeconds={song.audioDurationSeconds}
      audioUrl={media?.audio}
      peaks={media?.peaks}
      canEdit
      canCover
    />
  );
}

/** Upload a recording, then work on it or take its style for a new song. */
function FromUpload({ onUseStyle }: { onUseStyle(uploaded: Uploaded): void }) {
  const [uploaded, setUploaded] = useState<Uploaded | null>(null);
  if (!uploaded) return <UploadAudio onUploaded={setUploaded} />;
  const { upload } = uploaded;
  return (
    <>
      <p role="status">
        Uploaded {upload.filename} ({upload.durationSeconds.toFixed(1)} s).{" "}
        <button type="button" className="link" onClick={() => onUseStyle(uploaded)}>
          Use its style for a new song
        </button>
      </p>
      <WorkOnSong
        source={{ case: "uploadId", value: upload.id }}
        title={upload.filename}
        durationSeconds={upload.durationSeconds}
        audioUrl={uploaded.localUrl}
        canEdit
        canCover
      />
    </>
  );
}

function NewSongForm({
  reference,
  onDropReference,
}: {
  reference: Uploaded | null;
  onDropReference(): void;
}) {
  const { refreshBalance } = useSession();
  const navigate = useNavigate();
  const reuse = useSearchParams()[0].get("from");
  const [mode, setMode] = useState<Mode>("description");
  const [description, setDescription] = useState("");
  const [prompt, setPrompt] = useState("");
  const [lyrics, setLyrics] = useState("");
  const [instrumental, setInstrumental] = useState(false);
  // The last settings a song was made with; the words start empty.
  const [last] = useState(() => recall(DEFAULT_SETTINGS));
  const [duration, setDuration] = useState(last.duration);
  const [seed, setSeed] = useState("0");
  const [guidance, setGuidance] = useState(last.guidance);
  const [steps, setSteps] = useState(last.steps);
  const [takes, setTakes] = useState(last.takes);
  const [bpm, setBpm] = useState(last.bpm);
  const [keyScale, setKeyScale] = useState(last.keyScale);
  const [timeSignature, setTimeSignature] = useState(last.timeSignature);
  const [language, setLanguage] = useState(last.language);
  // One key per song being asked for: resending after a network error cannot
  // create (or charge for) a second song.
  const [idempotencyKey, setIdempotencyKey] = useState(newKey);
  const [problem, setProblem] = useState<Problem | null>(null);
  const creating = useCreateSong();
  const suggesting = useSuggestLyrics();
  const [suggested, setSuggested] = useState(false);
  const reused = useSongToReuse(reuse).data?.song;

  // "Reuse prompt" on a song page: its style, lyrics and settings, to make anew.
  useEffect(() => {
    const song = reused;
    if (!song) return;
    setMode("custom_lyrics");
    setPrompt(song.promptUsed || song.prompt);
    setLyrics(song.lyricsUsed);
    setInstrumental(song.instrumental);
    setDuration(String(song.params?.durationSeconds ?? LIMITS.duration.default));
    setBpm(song.controls?.bpm ? String(song.controls.bpm) : "");
    setKeyScale(song.controls?.keyScale ?? "");
    setTimeSignature(song.controls?.timeSignature ? String(song.controls.timeSignature) : "");
    setLanguage(song.controls?.vocalLanguage ?? "");
  }, [reused]);

  /** The lyrics step: the planner writes style and lyrics from the description,
   * free, for the person to edit before spending a credit. */
  async function writeLyrics() {
    setProblem(null);
    try {
      const reply = await suggesting.mutateAsync({ description, prompt: "" });
      setPrompt(reply.prompt);
      setLyrics(reply.lyrics);
      setMode("custom_lyrics");
      setSuggested(true);
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  function request(): MessageInitShape<typeof CreateSongRequestSchema> {
    // Instrumental songs have no lyrics: none are sent.
    const words = instrumental ? "" : lyrics;
    return {
      mode:
        mode === "description"
          ? { case: "description", value: description }
          : mode === "described_lyrics"
            ? { case: "describedLyrics", value: { prompt, lyricsDescription: words } }
            : { case: "customLyrics", value: { prompt, lyrics: words } },
      instrumental,
      idempotencyKey,
      params: {
        durationSeconds: Number(duration),
        seed: seedValue(seed),
        guidanceScale: Number(guidance),
        inferenceSteps: Math.trunc(Number(steps)),
      },
      takes: Math.trunc(Number(takes)),
      // Empty controls are left to the planner; anything typed goes to the server,
      // which names what is out of range.
      controls: {
        bpm: bpm.trim() === "" ? 0 : Math.trunc(Number(bpm)) || -1,
        keyScale,
        timeSignature: Number(timeSignature) || 0,
        vocalLanguage: language,
      },
      referenceUploadId: reference?.upload.id ?? "",
    };
  }

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const reply = await creating.mutateAsync(request());
      setIdempotencyKey(newKey());
      remember({ duration, guidance, steps, takes, bpm, keyScale, timeSignature, language });
      refreshBalance().catch(console.error);
      // Several takes are followed side by side in My songs.
      navigate(reply.songs.length > 1 ? "/songs" : `/songs/${reply.song?.id ?? ""}`);
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  const fields = problem?.fields ?? {};
  const lyricsField = mode === "described_lyrics" ? "lyrics_description" : "lyrics";
  const known = new Set([
    "description",
    `${mode}.prompt`,
    `${mode}.${lyricsField}`,
    "params.duration_seconds",
    "params.seed",
    "params.guidance_scale",
    "params.inference_steps",
    "takes",
    "controls.bpm",
    "controls.key_scale",
    "controls.time_signature",
    "controls.vocal_language",
  ]);
  const others = Object.entries(fields).filter(([field]) => !known.has(field));
  const general =
    problem &&
    (problem.reason === "INSUFFICIENT_CREDITS" || Object.keys(fields).length === 0
      ? problem.message
      : others.map(([field, text]) => `${field} ${text}`).join("; "));

  const takeCount = Math.trunc(Number(takes)) || 1;
  return (
    <>
      <form onSubmit={submit} noValidate aria-label="Create a song">
        <ErrorBanner message={general || undefined} />
        {problem?.reason === "INSUFFICIENT_CREDITS" && (
          <p>
            <Link to="/credits">
              Buy credits
            </Link>
          </p>
        )}
        <RadioChoices
          legend="How do you want to describe it?"
          name="mode"
          options={MODES}
          value={mode}
          onChange={setMode}
        />

        {mode === "description" ? (
          <InputField
            label="Song description"
            hint={`What the song should be like, up to ${LIMITS.text} characters.`}
            error={fields.description}
            multiline={{ rows: 4 }}
            maxLength={LIMITS.text}
            value={description}
            onChange={setDescription}
          />
        ) : (
          <>
            <InputField
              label="Style prompt"
              hint={`The musical style, e.g. "dreamy synth-pop, 100 bpm"; up to ${LIMITS.text} characters.`}
              error={fields[`${mode}.prompt`]}
              maxLength={LIMITS.text}
              value={prompt}
              onChange={setPrompt}
            />
            <StyleSuggestions prompt={prompt} onChange={setPrompt} />
          </>
        )}
        {mode === "description" && !instrumental && (
          <p className="m-0 flex flex-wrap items-center gap-3">
            <button
              type="button"
              className="secondary"
              disabled={suggesting.isPending || description.trim() === ""}
              onClick={writeLyrics}
            >
              <PenLine aria-hidden className="size-4" />
              {suggesting.isPending ? "Writing the lyrics…" : "Write the lyrics first (free)"}
            </button>
            <span className="hint text-sm">See and edit the lyrics before spending a credit.</span>
          </p>
        )}
        {suggested && mode === "custom_lyrics" && (
          <p className="banner ok m-0" role="status">
            The lyrics are written: edit them and the style as you like, then create the song.
          </p>
        )}
        {mode !== "description" && !instrumental && (
          <InputField
            label={mode === "described_lyrics" ? "What the lyrics are about" : "Lyrics"}
            hint={
              mode === "described_lyrics"
                ? `Up to ${LIMITS.text} characters.`
                : `Optional [verse]/[chorus] tags; up to ${LIMITS.lyrics} characters.`
            }
            error={fields[`${mode}.${lyricsField}`]}
            multiline={{ rows: mode === "custom_lyrics" ? 8 : 3 }}
            maxLength={mode === "custom_lyrics" ? LIMITS.lyrics : LIMITS.text}
            value={lyrics}
            onChange={setLyrics}
          />
        )}
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={instrumental}
            onChange={(e) => setInstrumental(e.target.checked)}
          />
          Instrumental (no vocals)
        </label>

        {reference && (
          <p className="banner ok">
            In the style of {reference.upload.filename}.{" "}
            <button type="button" className="link" onClick={onDropReference}>
              Remove
            </button>
          </p>
        )}
        <Field
          label="Takes"
          hint="Each take is a song of its own with its own seed, one credit each."
          error={fields.takes}
        >
          {(props) => (
            <select {...props} value={takes} onChange={(e) => setTakes(e.target.value)}>
              {Array.from({ length: LIMITS.takes.max }, (_, index) => index + 1).map((count) => (
                <option key={count} value={count}>
                  {count}
                </option>
              ))}
            </select>
          )}
        </Field>

        <details className="advanced">
          <summary>Musical controls</summary>
          <p className="hint">Anything left empty is chosen to fit the description.</p>
          <InputField
            label="Tempo (bpm)"
            hint={`${BPM.min}-${BPM.max}.`}
            error={fields["controls.bpm"]}
            type="number"
            inputMode="numeric"
            min={BPM.min}
            max={BPM.max}
            value={bpm}
            onChange={setBpm}
          />
          <ControlField
            label="Key"
            error={fields["controls.key_scale"]}
            any="Any key"
            options={KEY_SCALES}
            value={keyScale}
            onChange={setKeyScale}
          />
          <ControlField
            label="Beats per bar"
            error={fields["controls.time_signature"]}
            any="Any"
            options={TIME_SIGNATURES.map(String)}
            value={timeSignature}
            onChange={setTimeSignature}
          />
          <ControlField
            label="Language sung"
            error={fields["controls.vocal_language"]}
            any="Any language"
            options={VOCAL_LANGUAGES}
            optionName={languageName}
            value={language}
            onChange={setLanguage}
          />
        </details>

        <details className="advanced">
          <summary>Advanced settings</summary>
          <InputField
            label="Duration (seconds)"
            hint={`${LIMITS.duration.min}-${LIMITS.duration.max}; default ${LIMITS.duration.default}.`}
            error={fields["params.duration_seconds"]}
            type="number"
            inputMode="decimal"
            min={LIMITS.duration.min}
            max={LIMITS.duration.max}
            value={duration}
            onChange={setDuration}
          />
          <Field
            label="Seed"
            hint="0 picks a random seed; the same seed and inputs give the same song."
            error={fields["params.seed"]}
          >
            {(props) => (
              <input
                {...props}
                inputMode="numeric"
                pattern="[0-9]*"
                value={seed}
                onChange={(e) => setSeed(e.target.value)}
              />
            )}
          </Field>
          <InputField
            label="Guidance scale"
            hint={`${LIMITS.guidance.min}-${LIMITS.guidance.max} (1 turns guidance off); default ${LIMITS.guidance.default}.`}
            error={fields["params.guidance_scale"]}
            type="number"
            inputMode="decimal"
            step="0.5"
            min={LIMITS.guidance.min}
            max={LIMITS.guidance.max}
            value={guidance}
            onChange={setGuidance}
          />
          <InputField
            label="Inference steps"
            hint={`${LIMITS.steps.min}-${LIMITS.steps.max}; default ${LIMITS.steps.default}. More steps take longer.`}
            error={fields["params.inference_steps"]}
            type="number"
            inputMode="numeric"
            min={LIMITS.steps.min}
            max={LIMITS.steps.max}
            value={steps}
            onChange={setSteps}
          />
        </details>
        <button type="submit" disabled={creating.isPending}>
          {takeCount > 1
            ? `Create ${takeCount} takes (${takeCount} credits)`
            : "Create song (1 credit)"}
        </button>
      </form>
    </>
  );
}

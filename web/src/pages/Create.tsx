// Describe a song three ways, with the limits documented in song_service.proto.
import { useState } from "react";
import { problemOf, songs, type Problem } from "../api";
import { ErrorBanner, Field } from "../components/Field";
import { navigate, onLinkClick } from "../router";
import { useSession } from "../session";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateSongRequestSchema } from "../gen/neutone/v1/song_service_pb";

type Mode = "description" | "described_lyrics" | "custom_lyrics";

const MODES: { value: Mode; label: string }[] = [
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
};

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
  const { refreshBalance } = useSession();
  const [mode, setMode] = useState<Mode>("description");
  const [description, setDescription] = useState("");
  const [prompt, setPrompt] = useState("");
  const [lyrics, setLyrics] = useState("");
  const [instrumental, setInstrumental] = useState(false);
  const [duration, setDuration] = useState(String(LIMITS.duration.default));
  const [seed, setSeed] = useState("0");
  const [guidance, setGuidance] = useState(String(LIMITS.guidance.default));
  const [steps, setSteps] = useState(String(LIMITS.steps.default));
  // One key per song being asked for: resending after a network error cannot
  // create (or charge for) a second song.
  const [idempotencyKey, setIdempotencyKey] = useState(newKey);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

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
    };
  }

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const reply = await songs.createSong(request());
      setIdempotencyKey(newKey());
      refreshBalance().catch(console.error);
      navigate(`/songs/${reply.song?.id ?? ""}`);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
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
  ]);
  const others = Object.entries(fields).filter(([field]) => !known.has(field));
  const general =
    problem &&
    (problem.reason === "INSUFFICIENT_CREDITS" || Object.keys(fields).length === 0
      ? problem.message
      : others.map(([field, text]) => `${field} ${text}`).join("; "));

  return (
    <section className="narrow">
      <h1>Create a song</h1>
      <form onSubmit={submit} noValidate aria-label="Create a song">
        <ErrorBanner message={general || undefined} />
        {problem?.reason === "INSUFFICIENT_CREDITS" && (
          <p>
            <a href="/credits" onClick={onLinkClick}>
              Buy credits
            </a>
          </p>
        )}
        <fieldset className="modes">
          <legend>How do you want to describe it?</legend>
          {MODES.map((option) => (
            <label key={option.value} className="choice">
              <input
                type="radio"
                name="mode"
                value={option.value}
                checked={mode === option.value}
                onChange={() => setMode(option.value)}
              />
              {option.label}
            </label>
          ))}
        </fieldset>

        {mode === "description" ? (
          <Field
            label="Song description"
            hint={`What the song should be like, up to ${LIMITS.text} characters.`}
            error={fields.description}
          >
            {(props) => (
              <textarea
                {...props}
                rows={4}
                maxLength={LIMITS.text}
                value={description}
                onChange={(e) => setDescription(e.target.value)}
              />
            )}
          </Field>
        ) : (
          <Field
            label="Style prompt"
            hint={`The musical style, e.g. "dreamy synth-pop, 100 bpm"; up to ${LIMITS.text} characters.`}
            error={fields[`${mode}.prompt`]}
          >
            {(props) => (
              <input
                {...props}
                maxLength={LIMITS.text}
                value={prompt}
                onChange={(e) => setPrompt(e.target.value)}
              />
            )}
          </Field>
        )}
        {mode !== "description" && !instrumental && (
          <Field
            label={mode === "described_lyrics" ? "What the lyrics are about" : "Lyrics"}
            hint={
              mode === "described_lyrics"
                ? `Up to ${LIMITS.text} characters.`
                : `Optional [verse]/[chorus] tags; up to ${LIMITS.lyrics} characters.`
            }
            error={fields[`${mode}.${lyricsField}`]}
          >
            {(props) => (
              <textarea
                {...props}
                rows={mode === "custom_lyrics" ? 8 : 3}
                maxLength={mode === "custom_lyrics" ? LIMITS.lyrics : LIMITS.text}
                value={lyrics}
                onChange={(e) => setLyrics(e.target.value)}
              />
            )}
          </Field>
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

        <details className="advanced">
          <summary>Advanced settings</summary>
          <Field
            label="Duration (seconds)"
            hint={`${LIMITS.duration.min}-${LIMITS.duration.max}; default ${LIMITS.duration.default}.`}
            error={fields["params.duration_seconds"]}
          >
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="decimal"
                min={LIMITS.duration.min}
                max={LIMITS.duration.max}
                value={duration}
                onChange={(e) => setDuration(e.target.value)}
              />
            )}
          </Field>
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
          <Field
            label="Guidance scale"
            hint={`${LIMITS.guidance.min}-${LIMITS.guidance.max} (1 turns guidance off); default ${LIMITS.guidance.default}.`}
            error={fields["params.guidance_scale"]}
          >
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="decimal"
                step="0.5"
                min={LIMITS.guidance.min}
                max={LIMITS.guidance.max}
                value={guidance}
                onChange={(e) => setGuidance(e.target.value)}
              />
            )}
          </Field>
          <Field
            label="Inference steps"
            hint={`${LIMITS.steps.min}-${LIMITS.steps.max}; default ${LIMITS.steps.default}. More steps take longer.`}
            error={fields["params.inference_steps"]}
          >
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="numeric"
                min={LIMITS.steps.min}
                max={LIMITS.steps.max}
                value={steps}
                onChange={(e) => setSteps(e.target.value)}
              />
            )}
          </Field>
        </details>
        <button type="submit" disabled={busy}>
          Create song (1 credit)
        </button>
      </form>
    </section>
  );
}

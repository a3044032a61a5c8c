// Keep working on a song (or an upload): extend it, repaint a section, make a
// cover, or split it into stems. Each makes a new song of its own for one
// credit, and opens its page.
import { useState } from "react";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { useAction } from "@/lib/useAction";
import { SongService } from "@/gen/neutone/v1/song_service_pb";
import type { SongSourceSchema } from "@/gen/neutone/v1/song_pb";
import { useNavigate } from "react-router";
import { ErrorBanner, Field, generalProblem, InputField } from "@/components/Field";
import { RadioChoices, type Choice } from "@/components/RadioChoices";
import { Waveform, type Section } from "@/components/Waveform";

type Source = MessageInitShape<typeof SongSourceSchema>["source"];
type Tool = "extend" | "repaint" | "cover" | "stems";

const TOOLS: Choice<Tool>[] = [
  { value: "extend", label: "Extend" },
  { value: "repaint", label: "Repaint a section" },
  { value: "cover", label: "Cover / remix" },
  { value: "stems", label: "Stems" },
];

// The documented limits (song_service.proto).
const EXTENSION = { min: 10, max: 240, default: 30 };
const TEXT = 1000;
const LYRICS = 4000;

interface WorkOnSongProps {
  source: Source;
  title: string;
  durationSeconds: number;
  audioUrl: string | undefined;
  // The waveform stored with a song (none for an upload: drawn from its audio).
  peaks?: Uint8Array;
  // Extend, repaint and stems take only one's own songs and uploads; covers
  // also take published songs whose owners allow remixes.
  canEdit: boolean;
  canCover: boolean;
}

export function WorkOnSong(props: WorkOnSongProps) {
  const tools = TOOLS.filter((tool) => (tool.value === "cover" ? props.canCover : props.canEdit));
  const [tool, setTool] = useState<Tool>(tools[0]?.value ?? "cover");
  if (tools.length === 0) return null;
  return (
    <section className="work" aria-labelledby="work-heading">
      <h2 id="work-heading">Keep working on it</h2>
      <RadioChoices
        legend="What do you want to make?"
        name="tool"
        options={tools}
        value={tool}
        onChange={setTool}
      />
      {tool === "extend" && <ExtendForm {...props} />}
      {tool === "repaint" && <RepaintForm {...props} />}
      {tool === "cover" && <CoverForm {...props} />}
      {tool === "stems" && <StemsForm {...props} />}
    </section>
  );
}

/** Sends one edit request; on success opens the new song's page. One
 * idempotency key per form: resending after a network error makes no second song. */
function useEdit() {
  const navigate = useNavigate();
  const [key, setKey] = useState(() => crypto.randomUUID());
  const { run, problem, busy, fields } = useAction();

  function send(call: (idempotencyKey: string) => Promise<{ song?: { id: string } }>) {
    run(async () => {
      const reply = await call(key);
      setKey(crypto.randomUUID());
      navigate(`/songs/${reply.song?.id ?? ""}`);
    });
  }

  return { send, problem, busy, fields };
}

function ExtendForm({ source, title }: WorkOnSongProps) {
  const [seconds, setSeconds] = useState(String(EXTENSION.default));
  const [atStart, setAtStart] = useState(false);
  const [lyrics, setLyrics] = useState("");
  const [prompt, setPrompt] = useState("");
  const edit = useEdit();
  const extend = useMutation(SongService.method.extendSong);
  const shown = ["extension_seconds", "lyrics", "prompt"];
  return (
    <form
      aria-label={`Extend ${title}`}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        edit.send((idempotencyKey) =>
          extend.mutateAsync({
            source: { source },
            extensionSeconds: Number(seconds),
            atStart,
            lyrics,
            prompt,
            idempotencyKey,
          }),
        );
      }}
    >
      <ErrorBanner message={generalProblem(edit.problem, shown)} />
      <InputField
        label="Seconds to add"
        hint={`${EXTENSION.min}-${EXTENSION.max} seconds.`}
        error={edit.fields.extension_seconds}
        type="number"
        inputMode="decimal"
        min={EXTENSION.min}
        max={EXTENSION.max}
        value={seconds}
        onChange={setSeconds}
      />
      <label className="switch">
        <input
          type="checkbox"
          role="switch"
          checked={atStart}
          onChange={(e) => setAtStart(e.target.checked)}
        />
        Add it before the start
      </label>
      <InputField
        label="Lyrics for the new part"
        hint={`Optional; without lyrics the new part is instrumental. Up to ${LYRICS} characters.`}
        error={edit.fields.lyrics}
        multiline={{ rows: 4 }}
        maxLength={LYRICS}
        value={lyrics}
        onChange={setLyrics}
      />
      <StyleField value={prompt} onChange={setPrompt} error={edit.fields.prompt} optional />
      <button type="submit" disabled={edit.busy}>
        Extend (1 credit)
      </button>
    </form>
  );
}

function RepaintForm({ source, title, durationSeconds, audioUrl, peaks }: WorkOnSongProps) {
  const middle = Math.round(durationSeconds / 2);
  const [section, setSection] = useState<Section>({
    start: Math.max(0, middle - 5),
    end: Math.min(durationSeconds, middle + 5),
  });
  const [lyrics, setLyrics] = useState("");
  const [prompt, setPrompt] = useState("");
  const edit = useEdit();
  const repaint = useMutation(SongService.method.repaintSong);
  const shown = ["start_seconds", "end_seconds", "lyrics", "prompt"];
  const bound = (value: string) => (value === "" ? Number.NaN : Number(value));
  return (
    <form
      aria-label={`Repaint a section of ${title}`}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        edit.send((idempotencyKey) =>
          repaint.mutateAsync({
            source: { source },
            startSeconds: section.start,
            endSeconds: section.end,
            lyrics,
            prompt,
            idempotencyKey,
          }),
        );
      }}
    >
      <ErrorBanner message={generalProblem(edit.problem, shown)} />
      <p className="hint">Drag across the waveform to choose the section, or type its bounds.</p>
      <Waveform
        audioUrl={audioUrl}
        peaks={peaks}
        durationSeconds={durationSeconds}
        section={section}
        onSelect={setSection}
        label={`Waveform of ${title}, section ${section.start}-${section.end} s chosen`}
      />
      <div className="pair">
        <InputField
          label="Section start (s)"
          error={edit.fields.start_seconds}
          type="number"
          inputMode="decimal"
          step="0.1"
          min={0}
          max={durationSeconds}
          value={Number.isNaN(section.start) ? "" : section.start}
          onChange={(value) => setSection({ ...section, start: bound(value) })}
        />
        <InputField
          label="Section end (s)"
          error={edit.fields.end_seconds}
          type="number"
          inputMode="decimal"
          step="0.1"
          min={0}
          max={durationSeconds}
          value={Number.isNaN(section.end) ? "" : section.end}
          onChange={(value) => setSection({ ...section, end: bound(value) })}
        />
      </div>
      <InputField
        label="New lyrics for the section"
        hint={`Optional; otherwise the song's own. Up to ${LYRICS} characters.`}
        error={edit.fields.lyrics}
        multiline={{ rows: 3 }}
        maxLength={LYRICS}
        value={lyrics}
        onChange={setLyrics}
      />
      <StyleField value={prompt} onChange={setPrompt} error={edit.fields.prompt} optional />
      <button type="submit" disabled={edit.busy}>
        Repaint (1 credit)
      </button>
    </form>
  );
}

function CoverForm({ source, title }: WorkOnSongProps) {
  const [prompt, setPrompt] = useState("");
  const [strength, setStrength] = useState("0.5");
  const [lyrics, setLyrics] = useState("");
  const edit = useEdit();
  const cover = useMutation(SongService.method.coverSong);
  const shown = ["prompt", "strength", "lyrics"];
  return (
    <form
      aria-label={`Make a cover of ${title}`}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        edit.send((idempotencyKey) =>
          cover.mutateAsync({
            source: { source },
            prompt,
            strength: Number(strength),
            lyrics,
            idempotencyKey,
          }),
        );
      }}
    >
      <ErrorBanner message={generalProblem(edit.problem, shown)} />
      <StyleField value={prompt} onChange={setPrompt} error={edit.fields.prompt} />
      <Field
        label="How closely it follows the original"
        hint={`${strength}: 0 keeps only the idea, 1 keeps it closest.`}
        error={edit.fields.strength}
      >
        {(props) => (
          <input
            {...props}
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={strength}
            onChange={(e) => setStrength(e.target.value)}
          />
        )}
      </Field>
      <InputField
        label="Lyrics to sing"
        hint={`Optional; otherwise the original's. Up to ${LYRICS} characters.`}
        error={edit.fields.lyrics}
        multiline={{ rows: 3 }}
        maxLength={LYRICS}
        value={lyrics}
        onChange={setLyrics}
      />
      <button type="submit" disabled={edit.busy}>
        Make a cover (1 credit)
      </button>
    </form>
  );
}

function StemsForm({ source, title }: WorkOnSongProps) {
  const edit = useEdit();
  const separate = useMutation(SongService.method.separateStems);
  return (
    <form
      aria-label={`Split ${title} into stems`}
      onSubmit={(event) => {
        event.preventDefault();
        edit.send((idempotencyKey) => separate.mutateAsync({ source: { source }, idempotencyKey }));
      }}
    >
      <ErrorBanner message={generalProblem(edit.problem, [])} />
      <p>Vocals, drums, bass and everything else, each downloadable on its own.</p>
      <button type="submit" disabled={edit.busy}>
        Split into stems (1 credit)
      </button>
    </form>
  );
}

function StyleField({
  value,
  onChange,
  error,
  optional = false,
}: {
  value: string;
  onChange(value: string): void;
  error: string | undefined;
  optional?: boolean;
}) {
  return (
    <InputField
      label={optional ? "New style" : "Style of the new version"}
      hint={`${optional ? "Optional; otherwise the song's own. " : ""}Up to ${TEXT} characters.`}
      error={error}
      maxLength={TEXT}
      value={value}
      onChange={onChange}
    />
  );
}

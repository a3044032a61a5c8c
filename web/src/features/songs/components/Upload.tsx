// Upload a recording of one's own: the file goes straight to the object store
// (or, in the embedded mode, the gateway) with the form the service signed,
// then the service decodes and checks it. Refusals say why.
import { useState } from "react";
import { useMutation } from "@connectrpc/connect-query";
import { problemOf } from "@/lib/api";
import { SongService } from "@/gen/neutone/v1/song_service_pb";
import type { Upload } from "@/gen/neutone/v1/upload_pb";
import { Field } from "@/components/Field";

// The documented limits (song_service.proto).
const MAX_BYTES = 50 * 1024 * 1024;
const ACCEPT = ".wav,.flac,.mp3,.ogg,audio/wav,audio/flac,audio/mpeg,audio/ogg";
// What the service calls the formats, where a browser names them otherwise.
const CONTENT_TYPES: Record<string, string> = {
  wav: "audio/wav",
  flac: "audio/flac",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
};

export interface Uploaded {
  upload: Upload;
  // The file itself, for drawing its waveform without fetching it back.
  localUrl: string;
}

function contentType(file: File): string {
  const suffix = file.name.split(".").pop()?.toLowerCase() ?? "";
  return CONTENT_TYPES[suffix] ?? file.type;
}

export function UploadAudio({ onUploaded }: { onUploaded(uploaded: Uploaded): void }) {
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const createUpload = useMutation(SongService.method.createUpload);
  const completeUpload = useMutation(SongService.method.completeUpload);

  async function upload(file: File) {
    setError(undefined);
    if (file.size > MAX_BYTES) {
      setError(`The file is ${(file.size / 1e6).toFixed(1)} MB; at most 50 MB.`);
      return;
    }
    try {
      setStatus("Uploading…");
      const created = await createUpload.mutateAsync({
        filename: file.name,
        sizeBytes: BigInt(file.size),
        contentType: contentType(file),
      });
      const form = new FormData();
      for (const [name, value] of Object.entries(created.formFields)) form.append(name, value);
      form.append("file", file);
      const posted = await fetch(created.uploadUrl, { method: "POST", body: form });
      if (!posted.ok) throw new Error(`the upload failed: ${await posted.text()}`);
      setStatus("Checking the audio…");
      const completed = await completeUpload.mutateAsync({ uploadId: created.upload?.id ?? "" });
      setStatus(undefined);
      if (completed.upload) {
        onUploaded({ upload: completed.upload, localUrl: URL.createObjectURL(file) });
      }
    } catch (err) {
      const problem = problemOf(err);
      setStatus(undefined);
      setError(problem.fields.file ? `The file ${problem.fields.file}.` : problem.message);
    }
  }

  return (
    <Field
      label="Audio file"
      hint="WAV, FLAC, MP3 or OGG; at most 50 MB and 10 minutes."
      error={error}
    >
      {(props) => (
        <>
          <input
            {...props}
            type="file"
            accept={ACCEPT}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) upload(file);
            }}
          />
          {status && <p role="status">{status}</p>}
        </>
      )}
    </Field>
  );
}

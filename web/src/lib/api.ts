// One grpc-web transport to the gateway (same origin: the session cookie rides
// along) and a typed client per service, from the generated descriptors.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { UserService } from "@/gen/neutone/v1/user_service_pb";
import { BillingService } from "@/gen/neutone/v1/billing_service_pb";
import { SongService } from "@/gen/neutone/v1/song_service_pb";

export const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
  // Cookies on every call; the gateway turns the session cookie into an identity.
  fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
});

export const users = createClient(UserService, transport);
export const billing = createClient(BillingService, transport);
export const songs = createClient(SongService, transport);

const BAD_REQUEST = "google.rpc.BadRequest";
const ERROR_INFO = "google.rpc.ErrorInfo";

/** What went wrong, in a form a page can show: a message and per-field notes. */
export interface Problem {
  message: string;
  code: Code | undefined;
  // Field path (e.g. "params.duration_seconds") -> description.
  fields: Record<string, string>;
  // The ErrorInfo reason, e.g. "INSUFFICIENT_CREDITS".
  reason: string | undefined;
}

export function problemOf(error: unknown): Problem {
  if (!(error instanceof ConnectError)) {
    return { message: String(error), code: undefined, fields: {}, reason: undefined };
  }
  const fields: Record<string, string> = {};
  let reason: string | undefined;
  for (const detail of error.details) {
    // Details of types the client has no schema for arrive as raw bytes; the two
    // the app needs are small enough to read by hand (google/rpc/error_details.proto).
    if (!("type" in detail) || !(detail.value instanceof Uint8Array)) continue;
    if (detail.type === BAD_REQUEST) Object.assign(fields, fieldViolations(detail.value));
    if (detail.type === ERROR_INFO) reason = firstString(detail.value, 1);
  }
  return { message: error.rawMessage, code: error.code, fields, reason };
}

// BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; }
function fieldViolations(bytes: Uint8Array): Record<string, string> {
  const found: Record<string, string> = {};
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number !== 1) {
      reader.skip(wireType);
      continue;
    }
    const violation = new BinaryReader(reader.bytes());
    let field = "";
    let description = "";
    while (violation.pos < violation.len) {
      const [inner, innerType] = violation.tag();
      if (inner === 1) field = violation.string();
      else if (inner === 2) description = violation.string();
      else violation.skip(innerType);
    }
    found[field] = description;
  }
  return found;
}

function firstString(bytes: Uint8Array, fieldNumber: number): string | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === fieldNumber) return reader.string();
    reader.skip(wireType);
  }
  return undefined;
}

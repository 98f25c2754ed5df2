// What the gRPC server and the gRPC client share: the loaded proto/solo.proto, the SoloError carried
// in the `solo-error-bin` trailer, and the cleanup of what proto-loader decodes.
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { SoloError, type ErrorCode } from "../errors.ts";
import { isErrorCode } from "./error-mapping.ts";

export const PROTO_PATH = fileURLToPath(new URL("../../proto/solo.proto", import.meta.url));
export const SERVICE_NAME = "solo.v1.Solo";
/** The trailer that carries the SoloError (a SoloErrorDetail message; `-bin`: binary metadata). */
export const ERROR_TRAILER = "solo-error-bin";

/**
 * The proto loaded at start (a few ms). 64-bit numbers come as JS numbers (every Solo number is
 * a safe integer). `defaults`: the server leaves unset fields out (so unset limits stay unset);
 * the client fills them in, so an empty list or a zero count reads as [] or 0, not undefined.
 */
export function loadSoloProto(defaults: boolean): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults, oneofs: true });
}

/**
 * A decoded message as plain data: drops the names proto-loader adds for oneofs (`source: "text"`
 * beside `text`, and `_fuel: "fuel"` for every proto3 optional field), recursively, and a null
 * message (an unset message field under defaults).
 */
export function plain<T = Record<string, unknown>>(msg: unknown, oneofs: readonly string[] = []): T {
  return clean(msg, new Set(oneofs)) as T;
}

function clean(v: unknown, oneofs: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => clean(x, oneofs));
  if (!v || typeof v !== "object" || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined || oneofs.has(k)) continue;
    if (k.startsWith("_") && typeof x === "string") continue;
    out[k] = clean(x, oneofs);
  }
  return out;
}

// SoloErrorDetail is three string fields (1 code, 2 message, 3 details_json). It is written in
// protobuf's wire format here (tag, varint length, UTF-8 bytes) rather than through protobufjs,
// which is only a dependency of proto-loader, not of Solo.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

export function encodeErrorDetail(err: SoloError): Buffer {
  const parts: Buffer[] = [];
  const field = (no: number, text: string) => {
    if (!text) return;
    const bytes = Buffer.from(text, "utf8");
    parts.push(Buffer.from([(no << 3) | 2, ...varint(bytes.length)]), bytes);
  };
  field(1, err.code);
  field(2, err.message);
  field(3, err.details === undefined ? "" : JSON.stringify(err.details));
  return Buffer.concat(parts);
}

/** The SoloError in a `solo-error-bin` trailer; undefined when it is not one. */
export function decodeErrorDetail(buf: Buffer): SoloError | undefined {
  const fields: Record<number, string> = {};
  let i = 0;
  try {
    while (i < buf.length) {
      const tag = buf[i++]!;
      if ((tag & 7) !== 2) return undefined;
      let len = 0;
      let mul = 1;
      for (;;) {
        if (i >= buf.length) return undefined;
        const b = buf[i++]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) break;
      }
      if (i + len > buf.length) return undefined;
      fields[tag >> 3] = buf.subarray(i, i + len).toString("utf8");
      i += len;
    }
    const code = fields[1];
    if (!isErrorCode(code)) return undefined;
    const details = fields[3] ? (JSON.parse(fields[3]) as Record<string, unknown>) : undefined;
    return new SoloError(code as ErrorCode, fields[2] ?? "", details);
  } catch {
    return undefined;
  }
}

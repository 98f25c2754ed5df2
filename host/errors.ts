// The one error type of Solo. Its `code` is part of the API (docs/API.md); the mapping to gRPC
// status and HTTP/WebSocket codes lives only in api/.

export const ERROR_CODES = [
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "UNAUTHENTICATED",
  "COMPILE_ERROR",
  "VALIDATION_FAILED",
  "GUEST_ERROR",
  "GUEST_TRAP",
  "FUEL_EXHAUSTED",
  "MEMORY_LIMIT",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

export class SoloError extends Error {
  override readonly name = "SoloError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error that crossed a thread boundary as plain data. */
  static from(data: { code: ErrorCode; message: string; details?: Record<string, unknown> }): SoloError {
    return new SoloError(data.code, data.message, data.details);
  }
}

/** Wraps anything thrown into a SoloError; unknown failures become INTERNAL. */
export function toSoloError(err: unknown): SoloError {
  if (err instanceof SoloError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SoloError("INTERNAL", message);
}

// Each SoloError code maps to one gRPC status and one HTTP status, here and nowhere else. The
// code string itself always travels too (gRPC trailer `solo-error-bin`/SoloErrorDetail, JSON
// body, JSON-RPC error data), so clients branch on the code, never on the transport's status.
import { ERROR_CODES, SoloError, type ErrorCode } from "../errors.ts";

/** gRPC status numbers (grpc-js `status`), spelled out to keep this table free of imports. */
const GRPC = { UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export const STATUS: Record<ErrorCode, { grpc: number; http: number }> = {
  INVALID_ARGUMENT: { grpc: GRPC.INVALID_ARGUMENT, http: 400 },
  NOT_FOUND: { grpc: GRPC.NOT_FOUND, http: 404 },
  ALREADY_EXISTS: { grpc: GRPC.ALREADY_EXISTS, http: 409 },
  PERMISSION_DENIED: { grpc: GRPC.PERMISSION_DENIED, http: 403 },
  UNAUTHENTICATED: { grpc: GRPC.UNAUTHENTICATED, http: 401 },
  // The source is at fault, not the request's shape: 422 and FAILED_PRECONDITION.
  COMPILE_ERROR: { grpc: GRPC.FAILED_PRECONDITION, http: 422 },
  VALIDATION_FAILED: { grpc: GRPC.FAILED_PRECONDITION, http: 422 },
  // The guest (the upstream) failed: the gateway's 502; gRPC has no closer status than these.
  GUEST_ERROR: { grpc: GRPC.UNKNOWN, http: 502 },
  GUEST_TRAP: { grpc: GRPC.ABORTED, http: 502 },
  FUEL_EXHAUSTED: { grpc: GRPC.RESOURCE_EXHAUSTED, http: 422 },
  MEMORY_LIMIT: { grpc: GRPC.RESOURCE_EXHAUSTED, http: 422 },
  DEADLINE_EXCEEDED: { grpc: GRPC.DEADLINE_EXCEEDED, http: 504 },
  RESOURCE_EXHAUSTED: { grpc: GRPC.RESOURCE_EXHAUSTED, http: 429 },
  UNAVAILABLE: { grpc: GRPC.UNAVAILABLE, http: 503 },
  INTERNAL: { grpc: GRPC.INTERNAL, http: 500 },
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code);
}

/** A SoloError rebuilt from what crossed the wire; anything unrecognisable becomes INTERNAL. */
export function errorFromWire(data: unknown, fallback = "the server answered with an error Solo does not know"): SoloError {
  if (data && typeof data === "object") {
    const d = data as { code?: unknown; message?: unknown; details?: unknown };
    if (isErrorCode(d.code) && typeof d.message === "string") {
      return new SoloError(d.code, d.message, d.details && typeof d.details === "object" ? (d.details as Record<string, unknown>) : undefined);
    }
  }
  return new SoloError("INTERNAL", fallback);
}

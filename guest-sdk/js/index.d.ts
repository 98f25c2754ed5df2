// Types of the "solo" module for TypeScript guests.
//
// A guest exports `handle(request: string): string` and may also export, optionally:
//   export function health(): void                      // throw to say the instance is not fit to serve
//   export function migrate(fromVersion: number): void  // runs once on a new version, with kv; throw to abort
// Both synchronous; the host runs them before a new version takes over (see guest-sdk/README.md).
export declare const log: {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
export declare const kv: {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
  keys(prefix?: string): string[];
};
export declare const clock: { nowMs(): number; monotonicNs(): bigint };
export declare const random: { nextU64(): bigint };
export declare const secrets: { get(name: string): string };
export declare const services: { call(service: string, request: string): string };
export declare const events: { emit(kind: string, data: unknown): void };

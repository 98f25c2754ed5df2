// A process's resident memory, read from /proc/<pid>/status (Linux). ~20 us a read.
import { readFileSync } from "node:fs";

/** VmRSS in bytes, or undefined where /proc is not available (the heap flag still bounds V8). */
export function residentBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

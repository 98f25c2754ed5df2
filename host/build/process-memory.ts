// Resident memory of a process and its descendants (esbuild's service, a javy build), read from
// /proc (Linux): VmRSS of each, children from /proc/<pid>/task/<tid>/children. ~20 us a process.
import { readFileSync, readdirSync } from "node:fs";

/** Summed VmRSS in bytes, or undefined where /proc is not available (the heap flag still bounds V8). */
export function residentBytes(pid: number): number | undefined {
  const own = rss(pid);
  if (own === undefined) return undefined;
  let sum = own;
  for (const child of children(pid)) sum += residentBytes(child) ?? 0;
  return sum;
}

function rss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, "latin1").split(" ")) if (c.trim()) out.push(Number(c));
    }
  } catch {
    // gone, or no children file on this kernel: its own memory is what counts
  }
  return out;
}

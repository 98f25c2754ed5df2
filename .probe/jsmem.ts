import { compileJavaScript } from "../host/compile/javascript.ts";
import { ComponentSandbox } from "../host/runtime/component-sandbox.ts";
import { MemoryPool } from "../host/runtime/memory-pool.ts";
import { ArtifactCache, ensureWasmFeatures } from "../host/wasm/index.ts";
import { quietEnv } from "../bench/common.ts";
ensureWasmFeatures?.();
const echo = await compileJavaScript(`export function handle(request: string): string { return request; }\n`, "echo.ts", "typescript");
const a = await new ArtifactCache(undefined).artifact(echo, { trustGlue: false });
if (a.kind !== "component" || !a.plan) throw new Error("no plan");
const names = Object.keys(a.modules).sort((x, y) => Number(x) - Number(y));
const modules = names.map((n) => new WebAssembly.Module(a.modules[n]!.bytes as Uint8Array<ArrayBuffer>));
for (const n of names) console.log("module", n, a.modules[n]!.bytes.length);
const gc = (globalThis as any).gc;
const pool = new MemoryPool({ perShape: 0 });
const keep: ComponentSandbox[] = [];
const mk = () => { const s = new ComponentSandbox(a.plan!, modules, quietEnv(), 256 << 20, 1e9, undefined, pool); s.call("10", 1e9, 1 << 20); return s; };
keep.push(mk()); gc();
const m0 = process.memoryUsage();
const N = 300;
for (let i = 0; i < N; i++) keep.push(mk());
gc();
const m1 = process.memoryUsage();
const per = (k: keyof NodeJS.MemoryUsage) => ((m1[k] - m0[k]) / N / 1024).toFixed(1);
console.log(`per instance KiB: rss ${per("rss")} heapUsed ${per("heapUsed")} heapTotal ${per("heapTotal")} external ${per("external")} arrayBuffers ${per("arrayBuffers")}`);
const s = keep[1]!;
console.log("memoryBytes", s.memoryBytes);
const mems = (s as any);
console.log(Object.keys(mems));
import v8 from "node:v8";
import { readFileSync } from "node:fs";
function agg(file: string) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const f = snap.snapshot.meta.node_fields as string[]; const types = snap.snapshot.meta.node_types[0] as string[];
  const nf = f.length; const nodes = snap.nodes as number[]; const strings = snap.strings as string[];
  const ti = f.indexOf("type"), ni = f.indexOf("name"), si = f.indexOf("self_size");
  const m = new Map<string, [number, number]>();
  for (let i = 0; i < nodes.length; i += nf) {
    const k = types[nodes[i + ti]!] + ":" + strings[nodes[i + ni]!]!.slice(0, 60);
    const e = m.get(k) ?? [0, 0]; e[0] += nodes[i + si]!; e[1]++; m.set(k, e);
  }
  return m;
}
gc();
const f1 = v8.writeHeapSnapshot("/tmp/h1.heapsnapshot");
for (let i = 0; i < 100; i++) keep.push(mk());
gc();
const f2 = v8.writeHeapSnapshot("/tmp/h2.heapsnapshot");
const A = agg(f1), B = agg(f2);
const d: [string, number, number][] = [];
for (const [k, [sz, c]] of B) { const [sz0, c0] = A.get(k) ?? [0, 0]; if (sz - sz0 > 0) d.push([k, (sz - sz0) / 100, (c - c0) / 100]); }
d.sort((x, y) => y[1] - x[1]);
for (const [k, sz, c] of d.slice(0, 25)) console.log(sz.toFixed(0).padStart(8), "B/inst", c.toFixed(1).padStart(7), "objs", k);

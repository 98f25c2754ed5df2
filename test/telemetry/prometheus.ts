// A strict reader of the Prometheus text format (0.0.4), enough to hold the host's /metrics to
// it: every line is a comment (# HELP / # TYPE), blank, or `name{label="value",...} number`, every
// sample belongs to a family declared by # TYPE (histograms: _bucket, _sum, _count), buckets are
// cumulative and end at +Inf = _count. A line that is none of these throws.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  /** Samples of `name` whose labels include every label given. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The one sample's value (0 when absent). */
  value(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function number(text: string, line: string): number {
  // As Prometheus reads them (Go's ParseFloat): Inf and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const n = Number(text);
  if (text.trim() === "" || Number.isNaN(n)) throw new Error(`not a number in: ${line}`);
  return n;
}

function labels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m || m.index !== at) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in out) throw new Error(`label ${m[1]} twice in: ${line}`);
    out[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    if (m[3] === "") break;
  }
  return out;
}

export function parsePrometheus(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)( (.*))?$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)/.test(line)) throw new Error(`bad comment line: ${line}`);
        continue;
      }
      if (m[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[4] ?? "")) throw new Error(`bad type: ${line}`);
        if (types.has(m[2]!)) throw new Error(`family ${m[2]} declared twice`);
        types.set(m[2]!, m[4]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: m[1]!, labels: m[3] ? labels(m[3], line) : {}, value: number(m[4]!, line) });
  }
  const family = (name: string) => {
    if (types.has(name)) return name;
    for (const suffix of ["_bucket", "_sum", "_count"]) if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
    return undefined;
  };
  for (const s of samples) if (!family(s.name)) throw new Error(`sample ${s.name} has no # TYPE`);
  // Histograms: buckets cumulative, +Inf equal to _count, per label set.
  for (const [name, type] of types) {
    if (type !== "histogram") continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${name}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      const sorted = buckets.map((b) => [number(b.labels.le!, b.labels.le!), b.value] as const).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${name} buckets not cumulative for ${key}`);
      const last = sorted[sorted.length - 1]!;
      if (last[0] !== Infinity) throw new Error(`${name} has no +Inf bucket for ${key}`);
      const count = samples.find((x) => x.name === `${name}_count` && JSON.stringify(Object.entries(x.labels).sort()) === key);
      if (!count || count.value !== last[1]) throw new Error(`${name}_count differs from its +Inf bucket for ${key}`);
    }
  }
  const find = (name: string, want: Record<string, string> = {}) => samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    find,
    value(name, want = {}) {
      const found = find(name, want);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(want)}`);
      return found[0]?.value ?? 0;
    },
  };
}

/** The distinct values of label `label` over every sample. */
export function labelValues(scrape: Scrape, label: string): Set<string> {
  return new Set(scrape.samples.map((s) => s.labels[label]).filter((v): v is string => v !== undefined));
}

/** GET `url` (http or https with `ca`), with an optional bearer token: status, content type, body. */
export async function get(url: string, options: { ca?: string; token?: string; method?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  const { request } = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", ca: options.ca, headers: options.token ? { authorization: `Bearer ${options.token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

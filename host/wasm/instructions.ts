// The one table of WebAssembly instructions the meter understands: how each one's immediates are
// laid out, and which ones Solo refuses. Every reader of function bodies and constant expressions
// (the leaf analysis, the rewriter, global remapping) decodes through `decode`, so they can never
// disagree about where an instruction ends. Anything not listed here is refused, so a feature V8
// turns on later (a new proposal) is refused until the meter is taught to charge it.
import { SoloError } from "../errors.ts";
import type { Reader } from "./binary.ts";

/** One decoded instruction; `decode` fills a caller's object to avoid an allocation per instruction. */
export interface Instruction {
  /** Offset of the opcode. */
  at: number;
  op: number;
  /** Sub-opcode of a prefixed instruction (0xfc, 0xfd); -1 otherwise. */
  sub: number;
  /** The first index immediate (label depth, function, global, local, table, type, data...); -1 if none. */
  index: number;
}

export const newInstruction = (): Instruction => ({ at: 0, op: 0, sub: -1, index: -1 });

/** Value types a guest may use: numbers, v128, funcref, externref. No typed references (GC). */
const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** Why a module is refused: VALIDATION_FAILED naming the feature, so an agent knows what to remove. */
export function refuse(feature: string, message: string): never {
  throw new SoloError("VALIDATION_FAILED", `the module uses ${feature}, which Solo does not run: ${message}`, { item: feature, limit: "features" });
}

const EXCEPTIONS = "exception handling";
const REFUSED: Record<number, [feature: string, message: string]> = {
  0x06: [EXCEPTIONS, "a handler could not be metered exactly; report errors by return value"],
  0x07: [EXCEPTIONS, "catch is not supported"],
  0x08: [EXCEPTIONS, "throw is not supported; trap with unreachable or return an error"],
  0x09: [EXCEPTIONS, "rethrow is not supported"],
  0x0a: [EXCEPTIONS, "throw_ref is not supported"],
  0x18: [EXCEPTIONS, "delegate is not supported"],
  0x19: [EXCEPTIONS, "catch_all is not supported"],
  0x1f: [EXCEPTIONS, "try_table is not supported"],
  0x14: ["typed function references", "call_ref is not supported; use call_indirect"],
  0x15: ["typed function references", "return_call_ref is not supported"],
  0xd3: ["GC references", "ref.eq is not supported"],
  0xd4: ["typed function references", "ref.as_non_null is not supported"],
  0xd5: ["typed function references", "br_on_null is not supported"],
  0xd6: ["typed function references", "br_on_non_null is not supported"],
  0xfb: ["GC", "struct and array instructions are not supported"],
  0xfe: ["threads", "atomic instructions (and waits) are not supported"],
};

export function valueType(r: Reader): number {
  const b = r.byte();
  if (!VALUE_TYPES.has(b)) refuse("typed references", `value type 0x${b.toString(16)} is not supported`);
  return b;
}

function blockType(r: Reader): void {
  const b = r.bytes[r.pos]!;
  if (b === 0x40 || VALUE_TYPES.has(b)) r.pos++;
  else if (b >= 0x40 && b < 0x80) refuse("typed references", `block type 0x${b.toString(16)} is not supported`);
  else r.s33(); // a type index (multi-value)
}

function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40 && r.u32() !== 0) refuse("multiple memories", "only memory 0 may be used");
  r.skipLeb();
}

function memoryIndex(r: Reader): void {
  if (r.u32() !== 0) refuse("multiple memories", "only memory 0 may be used");
}

/** Reads one instruction at r.pos into `ins`; refuses what Solo cannot meter. */
export function decode(r: Reader, ins: Instruction): Instruction {
  ins.at = r.pos;
  const op = r.byte();
  ins.op = op;
  ins.sub = -1;
  ins.index = -1;
  switch (op) {
    case 0x02: case 0x03: case 0x04: blockType(r); return ins;
    case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
    case 0x25: case 0x26: case 0xd2:
      ins.index = r.u32();
      return ins;
    case 0x0e: {
      for (let n = r.u32(), i = 0; i < n; i++) r.u32();
      r.u32();
      return ins;
    }
    case 0x11: case 0x13:
      ins.index = r.u32(); // type
      r.u32(); // table
      return ins;
    case 0x1c: {
      const n = r.u32();
      if (n !== 1) refuse("typed select", "select takes exactly one type");
      valueType(r);
      return ins;
    }
    case 0x3f: case 0x40: memoryIndex(r); return ins;
    case 0x41: case 0x42: r.skipLeb(); return ins;
    case 0x43: r.skip(4); return ins;
    case 0x44: r.skip(8); return ins;
    case 0xd0: {
      const t = r.byte();
      if (t !== 0x70 && t !== 0x6f) refuse("typed references", `ref.null of 0x${t.toString(16)} is not supported`);
      return ins;
    }
    case 0xfc: return bulk(r, ins);
    case 0xfd: simd(r, ins); return ins;
  }
  if (op >= 0x28 && op <= 0x3e) { memarg(r); return ins; }
  if ((op >= 0x45 && op <= 0xc4) || op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) return ins;
  const refused = REFUSED[op];
  if (refused) refuse(...refused);
  refuse("an unknown instruction", `opcode 0x${op.toString(16)} at byte ${ins.at}`);
}

/** 0xfc: saturating truncations, bulk memory and table instructions. */
function bulk(r: Reader, ins: Instruction): Instruction {
  const sub = (ins.sub = r.u32());
  if (sub <= 7) return ins;
  switch (sub) {
    case 8: ins.index = r.u32(); memoryIndex(r); return ins; // memory.init data mem
    case 9: case 13: ins.index = r.u32(); return ins; // data.drop, elem.drop
    case 10: memoryIndex(r); memoryIndex(r); return ins; // memory.copy
    case 11: memoryIndex(r); return ins; // memory.fill
    case 12: ins.index = r.u32(); r.u32(); return ins; // table.init elem table
    case 14: ins.index = r.u32(); r.u32(); return ins; // table.copy dst src
    case 15: case 16: case 17: ins.index = r.u32(); return ins; // table.grow/size/fill
  }
  refuse(sub === 18 || sub === 19 ? "64-bit memories" : "an unknown instruction", `0xfc ${sub} is not supported`);
}

/** 0xfd: fixed-width SIMD, each a fixed cost. */
function simd(r: Reader, ins: Instruction): void {
  const sub = (ins.sub = r.u32());
  if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.byte();
  else if (sub >= 84 && sub <= 91) { memarg(r); r.byte(); }
  // Relaxed SIMD (0x100-0x113) gives different answers on different processors: a guest's output
  // would depend on the machine, which breaks the same-input-same-output promise.
  else if (sub >= 0x100) refuse(sub <= 0x113 ? "relaxed SIMD" : "an unknown instruction", `0xfd ${sub} is not supported`);
}

/** Bulk instructions whose work grows with an operand (the last one on the stack): charged by it. */
export function isBulk(ins: Instruction): boolean {
  return ins.op === 0xfc && (ins.sub === 8 || ins.sub === 10 || ins.sub === 11 || ins.sub === 12 || ins.sub === 14 || ins.sub === 15 || ins.sub === 17);
}

/** How many operand units one fuel unit pays for: memory bytes go 8 per unit, table entries 1. */
export function bulkShift(ins: Instruction): number {
  return ins.sub === 8 || ins.sub === 10 || ins.sub === 11 ? 3 : 0;
}

// Math.random for a guest that mentions it: a float in [0, 1) from one 53-bit draw of the random
// import (QuickJS's own generator would repeat in every instance: it is seeded before the
// snapshot). The build rewrites `Math.random` in the bundle to this file's export.
import * as wrandom from "solo:agent/random@0.1.0";

export function __soloMathRandom() {
  return Number(wrandom.nextU64()) / 9007199254740992;
}
Reflect.set(Math, "random", __soloMathRandom);

// Date for a guest that mentions it: Date.now() and new Date() read the clock import (QuickJS's
// own would ask WASI, which Solo does not give a guest). The original is read by name because the
// build rewrites every `Date` in the bundle to this file's export.
import { clock } from "solo";

const HostDate = Reflect.get(globalThis, "Date");

class SoloDate extends HostDate {
  constructor(...args) {
    if (args.length === 0) super(clock.nowMs());
    else super(...args);
  }
  static now() {
    return clock.nowMs();
  }
}

export { SoloDate as Date };
Object.defineProperty(globalThis, "Date", { value: SoloDate, writable: true, configurable: true });

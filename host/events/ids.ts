// Monotonic ULIDs: 10 characters of millisecond time, 16 of randomness; within one millisecond
// (or if the clock steps back) the random part is incremented instead. Seeded from the last
// stored id, so ids keep increasing across restarts.
import { randomBytes } from "node:crypto";
import { decodeTime, encodeTime, incrementBase32 } from "ulid";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export class IdGenerator {
  private time = 0;
  private random = "";
  /** The encoded time of `time` (10 characters), made once per millisecond. */
  private prefix = "";

  constructor(last: string | null) {
    if (last) {
      this.time = decodeTime(last);
      this.prefix = encodeTime(this.time, 10);
      this.random = last.slice(10);
    }
  }

  next(now = Date.now()): string {
    if (now > this.time) {
      this.time = now;
      this.prefix = encodeTime(now, 10);
      const bytes = randomBytes(16);
      let r = "";
      for (let i = 0; i < 16; i++) r += ALPHABET[bytes[i]! & 31];
      this.random = r;
    } else {
      this.random = incrementBase32(this.random);
    }
    return this.prefix + this.random;
  }
}

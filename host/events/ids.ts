// Monotonic ULIDs: 10 characters of millisecond time, 16 of randomness; within one millisecond
// (or if the clock steps back) the random part is incremented instead. Seeded from the last
// stored id, so ids keep increasing across restarts.
//
// The id is kept as its 26 ASCII bytes and incremented in place, so each id costs one 26-character
// string (~50 B). Incrementing a string (the ulid package's way) made ~430 B of short-lived
// strings per id: a fifth of what an append allocated on the API thread, whose young-generation
// collections set its longest pauses under load.
import { randomBytes } from "node:crypto";
import { decodeTime, encodeTime } from "ulid";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const VALID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CODES = Buffer.from(ALPHABET, "latin1");
/** A character code's digit in ALPHABET (-1: not one). */
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < CODES.length; i++) DIGIT[CODES[i]!] = i;

export class IdGenerator {
  private time = 0;
  /** The last id's characters: time (0-9), then the random part (10-25). */
  private readonly id = Buffer.alloc(26);

  /** False until `id` holds a valid id to increment (a seed that is not one is not incremented). */
  private valid = false;

  constructor(last: string | null) {
    if (last) {
      const seed = last.toUpperCase(); // Crockford base32 reads either case
      this.time = decodeTime(seed);
      if (VALID.test(seed)) {
        this.id.write(seed, 0, "latin1");
        this.valid = true;
      }
    }
  }

  next(now = Date.now()): string {
    if (now > this.time) this.start(now);
    else if (!this.valid || !this.increment()) this.start(this.time + 1); // 32^16 ids in one millisecond (or a bad seed): move on
    return this.id.toString("latin1", 0, 26);
  }

  /** A new millisecond: its time and a fresh random part. */
  private start(now: number) {
    this.time = now;
    this.valid = true;
    this.id.write(encodeTime(now, 10), 0, "latin1");
    const bytes = randomBytes(16);
    for (let i = 0; i < 16; i++) this.id[10 + i] = CODES[bytes[i]! & 31]!;
  }

  /** Adds one to the random part, base 32 with carry; false when it was all Z (nothing changed). */
  private increment(): boolean {
    let i = 25;
    while (i >= 10 && DIGIT[this.id[i]!] === 31) i--;
    if (i < 10) return false;
    this.id[i] = CODES[DIGIT[this.id[i]!]! + 1]!;
    for (let j = i + 1; j < 26; j++) this.id[j] = CODES[0]!;
    return true;
  }
}

// Offsets to 1-based line and column. The line starts are found once; findings come in order, so
// each lookup walks on from the previous one (a binary search when one goes back). Scanning from
// the start of the text for every finding made a large source quadratic.

export class LineIndex {
  private readonly starts: Int32Array;
  private last = 0;
  /** Characters read, lines walked and search steps taken, for checking that the work stays linear. */
  steps = 0;

  constructor(text: string) {
    // Counted first, then filled: a typed array of the right size (pushing a million numbers
    // to an array is many times slower).
    let lines = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    this.starts = new Int32Array(lines);
    for (let i = 0, k = 1; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts[k++] = i + 1;
    this.steps = 2 * text.length;
  }

  position(offset: number): { line: number; column: number } {
    const starts = this.starts;
    let line = this.last;
    if (offset >= starts[line]!) {
      while (line + 1 < starts.length && starts[line + 1]! <= offset) (line++, this.steps++);
    } else {
      let lo = 0;
      let hi = line;
      while (lo < hi) {
        this.steps++;
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      line = lo;
    }
    this.last = line;
    return { line: line + 1, column: offset - starts[line]! + 1 };
  }
}

// Offsets to 1-based line and column. The line starts are found once; findings come in order, so
// each lookup walks on from the previous one (a binary search when one goes back). Scanning from
// the start of the text for every finding made a large source quadratic.

export class LineIndex {
  private readonly starts: number[] = [0];
  private last = 0;
  /** Lines walked and search steps taken, for checking that the work stays linear. */
  steps = 0;

  constructor(text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
    this.steps = this.starts.length;
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

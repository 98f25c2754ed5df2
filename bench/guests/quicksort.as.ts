// Sorts N pseudo-random integers with quicksort; answers a checksum of the sorted order.
function sort(a: Int32Array, lo: i32, hi: i32): void {
  while (lo < hi) {
    const p = unchecked(a[(lo + hi) >>> 1]);
    let i = lo, j = hi;
    while (i <= j) {
      while (unchecked(a[i]) < p) i++;
      while (unchecked(a[j]) > p) j--;
      if (i <= j) {
        const t = unchecked(a[i]);
        unchecked(a[i] = unchecked(a[j]));
        unchecked(a[j] = t);
        i++;
        j--;
      }
    }
    if (j - lo < hi - i) { sort(a, lo, j); lo = i; } else { sort(a, i, hi); hi = j; }
  }
}

export function handle(request: string): string {
  const n = I32.parseInt(request);
  const a = new Int32Array(n);
  let x: u32 = 12345;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    a[i] = <i32>(x & 0xffffff);
  }
  sort(a, 0, n - 1);
  let sum: i64 = 0;
  for (let i = 0; i < n; i += 97) sum += <i64>a[i] * <i64>(i + 1);
  return sum.toString();
}

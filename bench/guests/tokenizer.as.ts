// Tokenizes N copies of a JSON-like record (strings, numbers, punctuation); answers the count.
const RECORD = '{"name": "solo", "count": 12345, "tags": ["a", "bc", "def"], "ok": true, "ratio": -0.25},';

function isDigit(c: i32): bool { return c >= 48 && c <= 57; }
function isSpace(c: i32): bool { return c == 32 || c == 10 || c == 9 || c == 13; }
function isAlpha(c: i32): bool { return (c | 32) >= 97 && (c | 32) <= 122; }

function tokenize(s: string): i32 {
  let tokens = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) { i++; continue; }
    if (c == 34) {
      i++;
      while (i < n && s.charCodeAt(i) != 34) { if (s.charCodeAt(i) == 92) i++; i++; }
      i++;
    } else if (isDigit(c) || c == 45) {
      i++;
      while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) == 46)) i++;
    } else if (isAlpha(c)) {
      while (i < n && isAlpha(s.charCodeAt(i))) i++;
    } else {
      i++;
    }
    tokens++;
  }
  return tokens;
}

let text = "";
export function handle(request: string): string {
  const n = I32.parseInt(request);
  if (text.length != n * RECORD.length) text = RECORD.repeat(n);
  return tokenize(text).toString();
}

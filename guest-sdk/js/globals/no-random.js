// Runs before the guest's code in every TS/JS bundle. QuickJS's own Math.random is seeded before
// the snapshot, so every instance would draw the same numbers; math-random.js replaces it with the
// random import where the code writes `Math.random`. A guest that reaches it another way
// (`const { random } = Math`) gets this, which says what to write, rather than numbers that repeat.
Reflect.set(Math, "random", function random() {
  throw new Error('Math.random is given a random source only where the code calls it by that name: write Math.random() (not a copy of it such as `const { random } = Math`), or use random.nextU64() from "solo"');
});

// @nxtedition/rocksdb ships no typings; this is the part of its abstract-level API Solo uses.
declare module "@nxtedition/rocksdb" {
  export class RocksLevel {
    constructor(location: string, options?: Record<string, unknown>);
  }
}

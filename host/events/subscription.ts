// A live view of the event log: first the stored events after `after` (replay), then new ones
// as they become durable, with no gap and no duplicate at the seam. Live events wait in a
// bounded buffer; a subscriber that falls further behind than that is dropped with
// RESOURCE_EXHAUSTED (and the id to resume from), so memory never grows without limit.
import { SoloError } from "../errors.ts";
import { matches, type EventFilter, type SoloEvent } from "./types.ts";

export interface SubscribeOptions {
  /** Replay stored events after this id first; default: only new events. */
  after?: string;
  /** Live events kept for a consumer that has not taken them yet (default 10,000). */
  maxBuffer?: number;
}

export type PageReader = (after: string | undefined, before: string | undefined) => Promise<SoloEvent[]>;

export class Subscription implements AsyncIterableIterator<SoloEvent> {
  private replaying: boolean;
  private replayed: SoloEvent[] = [];
  private live: SoloEvent[] = [];
  private lastDelivered: string | undefined;
  private waiter: ((r: IteratorResult<SoloEvent>) => void) | undefined;
  private failWaiter: ((e: SoloError) => void) | undefined;
  private failure: SoloError | undefined;
  private done = false;
  private readonly maxBuffer: number;

  /** `snapshot`: the newest durable id when this subscription was registered. */
  constructor(
    readonly filter: EventFilter,
    options: SubscribeOptions,
    private readonly snapshot: string | null,
    private readonly readPage: PageReader,
    private readonly onClose: (s: Subscription) => void,
  ) {
    this.maxBuffer = options.maxBuffer ?? 10_000;
    this.lastDelivered = options.after;
    this.replaying = options.after !== undefined && snapshot !== null && options.after < snapshot;
  }

  /** Called by the store for every durable event. */
  offer(e: SoloEvent): void {
    if (this.done || !matches(e, this.filter)) return;
    if (!this.replaying && this.waiter && this.live.length === 0) {
      this.deliver(e);
      return;
    }
    if (this.live.length >= this.maxBuffer) {
      this.fail(new SoloError("RESOURCE_EXHAUSTED", `subscriber dropped: it fell more than ${this.maxBuffer} events behind; subscribe again with after=${this.lastDelivered ?? "(start)"}`, { reason: "slow_subscriber", lastDelivered: this.lastDelivered ?? null, maxBuffer: this.maxBuffer }));
      return;
    }
    this.live.push(e);
  }

  async next(): Promise<IteratorResult<SoloEvent>> {
    if (this.failure) {
      const f = this.failure;
      this.close();
      throw f;
    }
    if (this.done) return { done: true, value: undefined };
    while (this.replaying) {
      if (this.replayed.length === 0) {
        this.replayed = await this.readPage(this.lastDelivered, this.snapshot === null ? undefined : incrementId(this.snapshot));
        // Closed or failed while the page was read: nothing may wait on it any more.
        if (this.failure) return this.next();
        if (this.done) return { done: true, value: undefined };
        if (this.replayed.length === 0) this.replaying = false;
      }
      const e = this.replayed.shift();
      if (e) {
        this.lastDelivered = e.id;
        return { done: false, value: e };
      }
    }
    while (this.live.length > 0) {
      const e = this.live.shift()!;
      if (this.lastDelivered !== undefined && e.id <= this.lastDelivered) continue; // seen in replay
      this.lastDelivered = e.id;
      return { done: false, value: e };
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  private deliver(e: SoloEvent) {
    if (this.lastDelivered !== undefined && e.id <= this.lastDelivered) return;
    this.lastDelivered = e.id;
    const w = this.waiter!;
    this.waiter = undefined;
    this.failWaiter = undefined;
    w({ done: false, value: e });
  }

  private fail(err: SoloError) {
    this.failure = err;
    this.onClose(this);
    this.live = [];
    if (this.failWaiter) {
      const f = this.failWaiter;
      this.waiter = undefined;
      this.failWaiter = undefined;
      this.done = true;
      f(err);
    }
  }

  /** Ends the subscription with an error (e.g. its reader's token was revoked): next() throws it. */
  abort(err: SoloError): void {
    if (this.done || this.failure) return;
    this.fail(err);
  }

  /** Stops the subscription; a pending next() resolves as done. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.live = [];
    this.onClose(this);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ done: true, value: undefined });
    }
  }

  async return(): Promise<IteratorResult<SoloEvent>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

// The smallest id greater than `id` at the same length ("...Z" -> next character carries).
function incrementId(id: string): string {
  return id + "0";
}

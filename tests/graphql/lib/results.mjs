// The results of one GraphQL subscription, whichever client delivers them (graphql-ws sinks,
// Apollo's and subscriptions-transport-ws's observables): each `next` queued in arrival order
// and taken with a deadline, never a fixed sleep; the end (error or complete) recorded.
import { withDeadline } from '../../compat/lib/wait.mjs';

export class Results {
  #queue = [];
  #waiters = [];
  received = []; ///< every result so far, for failure messages and absence checks
  ended; ///< {error} or {complete: true} once the subscription ended

  /// An observer ({next, error, complete}) feeding this queue.
  get observer() {
    return {
      next: (value) => this.push(value),
      error: (error) => this.end({ error }),
      complete: () => this.end({ complete: true }),
    };
  }

  push(value) {
    this.received.push(value);
    const w = this.#waiters.shift();
    if (w) w.resolve(value);
    else this.#queue.push(value);
  }

  end(how) {
    this.ended ??= how;
    for (const w of this.#waiters.splice(0)) w.reject(Object.assign(new Error('ended'), { how }));
  }

  /// The next result within timeoutMs; rejects (err.how = {error}|{complete}) when it ended.
  next({ what = 'the next result', timeoutMs } = {}) {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    if (this.ended) return Promise.reject(Object.assign(new Error('ended'), { how: this.ended }));
    const p = new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    return withDeadline(p, { what, timeoutMs, dump: () => this.received });
  }

  /// Resolves with the end ({error} | {complete}) within the deadline.
  async ending({ what = 'the subscription to end', timeoutMs } = {}) {
    const queued = () => this.#queue.splice(0);
    for (;;) {
      if (this.ended) return this.ended;
      try {
        await this.next({ what, timeoutMs });
      } catch (e) {
        if (e.how) return e.how;
        throw e;
      }
      queued();
    }
  }

  /// Results received and not yet taken.
  pending() {
    return this.#queue.length;
  }
}

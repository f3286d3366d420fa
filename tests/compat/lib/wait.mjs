// Waiting on conditions with deadlines (never fixed sleeps as synchronisation), and failure
// messages that show what was actually received.
import { inspect } from 'node:util';

/** Default deadline for one awaited condition, in ms. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/// Thrown by a waitUntil check to end the wait at once (the condition can no longer become true).
export class WaitAborted extends Error {}

/// Polls `check` (sync or async; a truthy result ends the wait and is returned) every
/// `intervalMs` until `timeoutMs` has passed, then throws an Error naming `what` and the
/// output of `dump()` (what was received so far). A check that throws WaitAborted ends the
/// wait with that error; other exceptions are retried (the last one is reported).
export async function waitUntil(check, { what = 'condition', timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 20, dump } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e instanceof WaitAborted) {
        if (dump) e.message += `\nreceived so far:\n${show(dump())}`;
        throw e;
      }
      lastError = e;
    }
    if (Date.now() >= deadline) {
      let msg = `timed out after ${timeoutMs} ms waiting for ${what}`;
      if (lastError) msg += `\nlast error: ${lastError.stack ?? lastError}`;
      if (dump) msg += `\nreceived so far:\n${show(dump())}`;
      throw new Error(msg);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/// Resolves with the value of `promise`, or rejects after `timeoutMs` with a message naming
/// `what` and `dump()`.
export async function withDeadline(promise, { what = 'promise', timeoutMs = DEFAULT_TIMEOUT_MS, dump } = {}) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      let msg = `timed out after ${timeoutMs} ms waiting for ${what}`;
      if (dump) msg += `\nreceived so far:\n${show(dump())}`;
      reject(new Error(msg));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/// Compact, deep rendering of received data for failure messages.
export function show(v) {
  return inspect(v, { depth: 8, breakLength: 140, maxArrayLength: 60, maxStringLength: 400 });
}

/**
 * Polls `fn` every `everyMs` until it returns something other than undefined,
 * and returns that; throws `timed out waiting for <what>` after `timeoutMs`.
 * For integration tests waiting on another process, the kernel or a store.
 */
export async function until<T>(
  what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits for `promise` unless `signal` aborts first (then rejects with its reason); the work goes on. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Yields from `source` until it ends or `signal` aborts (then throws its reason). */
export async function* iterateUntilAborted<T>(source: AsyncGenerator<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  try {
    for (;;) {
      const next = await untilAborted(source.next(), signal);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void source.return(undefined).catch(() => {});
  }
}

/**
 * undici, loaded on first use: it costs ~60 ms of start-up, and a stdio server
 * must answer `initialize` before it makes any HTTP call.
 */
let loaded: Promise<typeof import('undici')> | undefined;

export function undici(): Promise<typeof import('undici')> {
  loaded ??= import('undici');
  return loaded;
}

/**
 * A progress bar: updated in place in the notebook (one output, replaced through its display id)
 * and drawn on stderr outside a kernel. Updates are throttled so that long loops stay cheap.
 *
 * @module
 */
import { emit, escapeHtml, inKernel } from "./display.ts";

/** A running progress bar; see {@linkcode progress}. */
export interface Progress {
  /** Advances by `n` steps (default 1) and shows `info` (e.g. the current loss). */
  tick(n?: number, info?: string): Promise<void>;
  /** Sets the absolute position. */
  update(done: number, info?: string): Promise<void>;
  /** Draws the final state. */
  finish(info?: string): Promise<void>;
  /** Steps done so far. */
  readonly done: number;
}

let barCounter = 0;

/**
 * Starts a progress bar over `total` steps.
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * const bar = await progress(3, "train");
 * for (let i = 0; i < 3; i++) await bar.tick(1, `step ${i}`);
 * await bar.finish();
 * ```
 */
export async function progress(
  total: number,
  label = "",
  options: { intervalMs?: number } = {},
): Promise<Progress> {
  if (!Number.isFinite(total) || total <= 0) {
    throw new Error(`progress: total must be a positive number, got ${total}`);
  }
  const interval = options.intervalMs ?? 250;
  const kernel = inKernel();
  const displayId = `kdlab-progress-${Date.now().toString(36)}-${barCounter++}`;
  const start = performance.now();
  let done = 0;
  let lastDraw = -Infinity;
  let lastInfo = "";

  const draw = async (final: boolean) => {
    const fraction = Math.min(1, done / total);
    const elapsed = (performance.now() - start) / 1000;
    const eta = done > 0 ? elapsed * (total - done) / done : NaN;
    const time = final
      ? `${elapsed.toFixed(1)} s`
      : `${elapsed.toFixed(1)} s, eta ${Number.isFinite(eta) ? eta.toFixed(1) : "?"} s`;
    const text = `${label} ${done}/${total} (${(fraction * 100).toFixed(0)}%) ${time} ${lastInfo}`
      .trim();
    if (kernel) {
      const html = `<div class="kdlab-progress" style="font-family:monospace">` +
        `<progress value="${done}" max="${total}" style="width:40%"></progress> ` +
        `${escapeHtml(text)}</div>`;
      await emit({ "text/html": html, "text/plain": text }, {
        displayId,
        update: lastDraw !== -Infinity,
      });
    } else {
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "█".repeat(filled) + "·".repeat(width - filled);
      const end = final ? "\n" : "";
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${bar} ${text}\x1b[K${end}`));
    }
    lastDraw = performance.now();
  };

  const maybeDraw = async () => {
    if (performance.now() - lastDraw >= interval) await draw(false);
  };

  await draw(false);
  return {
    get done() {
      return done;
    },
    async tick(n = 1, info?: string) {
      done += n;
      if (info !== undefined) lastInfo = info;
      await maybeDraw();
    },
    async update(position: number, info?: string) {
      done = position;
      if (info !== undefined) lastInfo = info;
      await maybeDraw();
    },
    async finish(info?: string) {
      if (info !== undefined) lastInfo = info;
      await draw(true);
    },
  };
}

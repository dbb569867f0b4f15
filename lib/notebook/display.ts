/**
 * The kernel bridge: emit MIME bundles through `Deno.jupyter` when running in the Deno kernel,
 * and say so when not, so that helpers can fall back to the terminal.
 *
 * @module
 */

/** A Jupyter MIME bundle: mime type → data (strings, or JSON objects for `+json` types). */
export type MimeBundle = Record<string, string | object>;

/** Options of {@linkcode emit}. */
export interface EmitOptions {
  /** A display id, so that a later `emit` with `update: true` replaces this output in place. */
  displayId?: string;
  /** Replace the output carrying `displayId` instead of adding a new one. */
  update?: boolean;
}

/** True when the code runs inside the Deno Jupyter kernel (`deno jupyter --kernel`). */
export function inKernel(): boolean {
  try {
    return typeof Deno.jupyter?.display === "function";
  } catch {
    return false; // Deno.jupyter throws outside the `deno jupyter` subcommand
  }
}

/**
 * Displays a MIME bundle in the notebook as a `display_data` (or `update_display_data`) message.
 * Outside a kernel it prints the bundle's `text/plain` part and returns false.
 */
export async function emit(bundle: MimeBundle, options: EmitOptions = {}): Promise<boolean> {
  if (!inKernel()) {
    const text = bundle["text/plain"];
    if (typeof text === "string" && !options.update) console.log(text);
    return false;
  }
  await Deno.jupyter.display(bundle as Deno.jupyter.MediaBundle, {
    raw: true,
    display_id: options.displayId,
    update: options.update,
  });
  return true;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

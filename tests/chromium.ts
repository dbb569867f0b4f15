/**
 * Headless Chromium (Debian's `chromium`), offline, for checks that a page really draws.
 *
 * @module
 */

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--virtual-time-budget=15000",
];

/** Loads `htmlPath` in headless Chromium and returns the DOM after its scripts ran. */
export async function renderedDom(htmlPath: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "kdlab-chromium-" });
  try {
    const out = await new Deno.Command("chromium", {
      args: [...FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `file://${htmlPath}`],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error(`chromium exited with code ${out.code} on ${htmlPath}`);
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

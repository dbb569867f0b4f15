/**
 * The repository root, and the Deno binary that runs this process run again on a subcommand
 * (`deno check`, `deno doc`, ...) from that root, with its output captured.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root folder. */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What a Deno subcommand returned: its exit code and its stdout then stderr, without colour. */
export interface DenoOutput {
  /** The exit code. */
  code: number;
  /** stdout followed by stderr. */
  output: string;
}

/** Runs `deno <args>` (this process's binary) in {@link ROOT}. */
export async function runDeno(args: string[]): Promise<DenoOutput> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, output: decode(stdout) + decode(stderr) };
}

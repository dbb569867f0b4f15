/**
 * `deno task bench [name ...]`: runs the benchmarks under `bench/` (all, or those named), each
 * writing its JSON result under `bench/results/`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Benchmarks by name: each is a script that writes `bench/results/<name>.json`. */
export const BENCHMARKS: Record<string, string> = {
  losses: "losses.ts",
  train_step: "train_step.ts",
  scaling_fit: "scaling_fit.ts",
};

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHMARKS);
  for (const name of names) {
    const script = BENCHMARKS[name];
    if (!script) {
      console.error(
        `bench: unknown benchmark "${name}"; expected ${Object.keys(BENCHMARKS).join(", ")}`,
      );
      Deno.exit(2);
    }
    console.log(`=== bench ${name}`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(here, script)],
    }).spawn().status;
    if (!status.success) Deno.exit(status.code);
  }
}

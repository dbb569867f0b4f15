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
  tokenizer: "tokenizer.ts",
  phis: "phis.ts",
  classifier_step: "classifier_step.ts",
  wasm_matmul: "wasm_matmul.ts",
  generate: "generate.ts",
  sparse_kd: "sparse_kd.ts",
  representation: "representation.ts",
};

if (import.meta.main) {
  // Names select benchmarks; options (`--repeats 3`, `--backends wasm`) are passed to each one.
  const names: string[] = [];
  const passThrough: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    if (Deno.args[i].startsWith("--")) {
      passThrough.push(Deno.args[i]);
      if (
        !Deno.args[i].includes("=") && i + 1 < Deno.args.length &&
        !Deno.args[i + 1].startsWith("--")
      ) {
        passThrough.push(Deno.args[++i]);
      }
    } else names.push(Deno.args[i]);
  }
  if (names.length === 0) names.push(...Object.keys(BENCHMARKS));
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
      args: ["run", "-A", join(here, script), ...passThrough],
    }).spawn().status;
    if (!status.success) Deno.exit(status.code);
  }
}

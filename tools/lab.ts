/**
 * `deno task lab`: Jupyter Notebook (Debian's jupyter-notebook) on the `notebooks/` folder with
 * the Deno kernel registered. Extra arguments go to `jupyter notebook` (e.g. `--port 8890`).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./runner.ts";
import { ensureSetup, SYSTEM_PYTHON } from "./setup.ts";

if (import.meta.main) {
  await ensureSetup("lab");
  const args = ["-m", "notebook", `--notebook-dir=${join(ROOT, "notebooks")}`, ...Deno.args];
  if (Deno.uid() === 0 && !Deno.args.includes("--allow-root")) args.push("--allow-root");
  const status = await new Deno.Command(SYSTEM_PYTHON, { args, env: { XDG_RUNTIME_DIR: "/tmp" } })
    .spawn().status;
  Deno.exit(status.code);
}

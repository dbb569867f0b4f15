/**
 * Set-up done by the tasks themselves: Jupyter's Debian packages (nbclient, nbconvert), the Deno
 * kernel's registration, and what tests need (Chromium for rendering checks, Mesa's Vulkan
 * drivers for the software WebGPU adapter). As root, missing packages are installed with apt;
 * otherwise the run stops with a message naming them.
 *
 * Usage: `deno run -A tools/setup.ts [run|test|lab]`.
 *
 * @module
 */

/** Debian's Python, where the Jupyter packages live (a pyenv python3 may come first on PATH). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** What a purpose needs: Debian packages and a probe that says whether they are present. */
interface Requirement {
  packages: string[];
  present: () => Promise<boolean>;
}

const jupyterCore: Requirement = {
  packages: ["jupyter-client", "python3-nbclient", "python3-nbconvert", "jupyter-nbconvert"],
  present: () => succeeds(SYSTEM_PYTHON, ["-c", "import nbclient, nbconvert, jupyter_client"]),
};
const notebookServer: Requirement = {
  packages: ["jupyter-notebook"],
  present: () => succeeds(SYSTEM_PYTHON, ["-c", "import notebook"]),
};
const chromium: Requirement = {
  packages: ["chromium"],
  present: async () => (await exists("/usr/bin/chromium")),
};
const vulkan: Requirement = {
  packages: ["mesa-vulkan-drivers"],
  present: async () =>
    (await exists("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json")) ||
    (await exists("/usr/share/vulkan/icd.d/lvp_icd.json")),
};

/** The purposes a task can ask set-up for. */
export type Purpose = "run" | "test" | "lab";

const needs: Record<Purpose, Requirement[]> = {
  run: [jupyterCore],
  test: [jupyterCore, chromium, vulkan],
  lab: [jupyterCore, notebookServer],
};

/**
 * Makes sure everything `purpose` needs is installed and the Deno kernel is registered.
 * Idempotent and quick when nothing is missing.
 */
export async function ensureSetup(purpose: Purpose): Promise<void> {
  const missing: string[] = [];
  for (const requirement of needs[purpose]) {
    if (!(await requirement.present())) missing.push(...requirement.packages);
  }
  if (missing.length > 0) await aptInstall(missing);
  for (const requirement of needs[purpose]) {
    if (!(await requirement.present())) {
      throw new Error(
        `setup: ${requirement.packages.join(" ")} still missing after installing; ` +
          `check the apt output above`,
      );
    }
  }
  await ensureKernel();
}

async function aptInstall(packages: string[]): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error(
      `setup: missing Debian packages: ${packages.join(" ")}.\n` +
        `Install them as root:  apt-get update && apt-get install -y ${packages.join(" ")}`,
    );
  }
  console.error(`[kdlab] installing Debian packages: ${packages.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], env);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], env);
}

/** Registers the Deno kernel for the running deno binary, unless it already points there. */
export async function ensureKernel(): Promise<void> {
  const home = Deno.env.get("HOME") ?? "/root";
  const spec = `${home}/.local/share/jupyter/kernels/deno/kernel.json`;
  try {
    const kernel = JSON.parse(await Deno.readTextFile(spec));
    if (kernel.argv?.[0] === Deno.execPath()) return;
  } catch {
    // not registered yet
  }
  await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const status = await new Deno.Command(cmd, { args, env, stdout: "inherit", stderr: "inherit" })
    .output();
  if (!status.success) {
    throw new Error(`setup: "${cmd} ${args.join(" ")}" failed with exit code ${status.code}`);
  }
}

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const purpose = (Deno.args[0] ?? "run") as Purpose;
  if (!(purpose in needs)) {
    console.error(`setup: unknown purpose "${purpose}"; expected run, test or lab`);
    Deno.exit(2);
  }
  try {
    await ensureSetup(purpose);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}

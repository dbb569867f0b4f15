/**
 * Environment switches of the WebGPU fast paths (`KD_FUSED`, `KD_MATMUL`), read once at import.
 *
 * @module
 */

/** The variable's value, or undefined when unset or when the process may not read the environment. */
export function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: defaults apply
  }
}

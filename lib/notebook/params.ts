/**
 * Notebook parameters, papermill-style: a notebook declares typed defaults, and a run overrides
 * them with a JSON object in the `KDLAB_PARAMS` environment variable (set by `deno task nb
 * --params '{...}'`). Every notebook has `scale: "quick" | "full"`.
 *
 * @module
 */

/** The two scales every experiment notebook offers. */
export type Scale = "quick" | "full";

/** The environment variable that carries parameter overrides as JSON. */
export const PARAMS_ENV = "KDLAB_PARAMS";

/**
 * Returns `defaults` overridden by the JSON object in `KDLAB_PARAMS` (or `source` when given).
 * Unknown keys, values of another type than the default's and a `scale` other than quick/full
 * are errors that name the key.
 *
 * @example
 * ```ts
 * import { params } from "./params.ts";
 * import assert from "node:assert/strict";
 * const p = params({ scale: "quick" as "quick" | "full", seeds: 3 }, '{"seeds": 1}');
 * assert.equal(p.seeds, 1);
 * assert.throws(() => params({ scale: "quick", seeds: 3 }, '{"seeds": "two"}'), /must be a number/);
 * ```
 */
export function params<T extends { scale: Scale }>(defaults: T, source?: string): T {
  const text = source ?? Deno.env.get(PARAMS_ENV) ?? "";
  const origin = source === undefined ? PARAMS_ENV : "params source";
  let overrides: Record<string, unknown>;
  try {
    overrides = parseJsonObject(text, origin);
  } catch (error) {
    throw new Error(`params: ${(error as Error).message}`);
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) {
      throw new Error(
        `params: unknown parameter "${key}" in ${origin}; this notebook takes ${
          Object.keys(defaults).join(", ")
        }`,
      );
    }
    const expected = (defaults as Record<string, unknown>)[key];
    if (!sameKind(expected, value)) {
      throw new Error(
        `params: "${key}" must be ${kindOf(expected)} like its default ${
          JSON.stringify(expected)
        }, got ${JSON.stringify(value)}`,
      );
    }
    merged[key] = value;
  }
  if (merged.scale !== "quick" && merged.scale !== "full") {
    throw new Error(
      `params: "scale" must be "quick" or "full", got ${JSON.stringify(merged.scale)}`,
    );
  }
  return merged as T;
}

/**
 * Parses parameter overrides: empty text is `{}`; anything but a JSON object is an error that
 * names `origin` (e.g. `KDLAB_PARAMS`, `--params`) and quotes an example.
 */
export function parseJsonObject(text: string, origin: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${origin} is not valid JSON (${(error as Error).message}); expected an object such as ` +
        `{"scale": "full"}, got ${text}`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${origin} must be a JSON object such as {"scale": "full"}, got ${text}`);
  }
  return value as Record<string, unknown>;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

function sameKind(a: unknown, b: unknown): boolean {
  return kindOf(a) === kindOf(b);
}

/**
 * Weights on disk in the safetensors layout (Hugging Face, `safetensors` format spec): an 8-byte
 * little-endian header length, a JSON header `{name: {dtype, shape, data_offsets}}`, then the raw
 * little-endian tensor bytes. A model folder holds `weights.safetensors` and `config.json`, so a
 * model is rebuilt from its config and its weights alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { createGPT, type GPT, type GPTConfig } from "./gpt.ts";
import type { Params } from "./params.ts";
import {
  type CNNConfig,
  createCNN,
  createMLP,
  type ImageClassifier,
  type MLPConfig,
} from "./vision.ts";

/** Host-side float32 tensors by name. */
export type HostTensors = Record<string, { shape: number[]; data: Float32Array }>;

/** The bytes of a safetensors file holding float32 tensors (names sorted) and string metadata. */
export function encodeSafetensors(
  tensors: HostTensors,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    if (data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(
        `encodeSafetensors: "${name}" has ${data.length} values for shape [${shape}]`,
      );
    }
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

/** Tensors and metadata of safetensors bytes (float32 only). */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: HostTensors; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error("decodeSafetensors: file is shorter than its header");
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (8 + headerLength > bytes.length) throw new Error("decodeSafetensors: truncated header");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const base = 8 + headerLength;
  const tensors: HostTensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    if (dtype !== "F32") throw new Error(`decodeSafetensors: "${name}" is ${dtype}, expected F32`);
    if (base + end > bytes.length) throw new Error(`decodeSafetensors: "${name}" is truncated`);
    const copy = bytes.slice(base + begin, base + end);
    tensors[name] = { shape, data: new Float32Array(copy.buffer) };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

/** The current values of variables, on the host (read asynchronously: works on every backend). */
export async function readParams(params: Params): Promise<HostTensors> {
  const out: HostTensors = {};
  for (const [name, v] of Object.entries(params)) {
    out[name] = { shape: v.shape, data: await v.data() as Float32Array };
  }
  return out;
}

/** Assigns saved values to variables; names and shapes must match exactly. */
export function assignParams(params: Params, values: HostTensors, what = "weights"): void {
  const expected = Object.keys(params).sort().join(",");
  const got = Object.keys(values).sort().join(",");
  if (expected !== got) {
    const missing = Object.keys(params).filter((n) => !values[n]);
    const extra = Object.keys(values).filter((n) => !params[n]);
    throw new Error(
      `${what} do not match the model: missing [${missing.join(", ")}], unexpected [${
        extra.join(", ")
      }]`,
    );
  }
  for (const [name, v] of Object.entries(params)) {
    const { shape, data } = values[name];
    if (shape.join(",") !== v.shape.join(",")) {
      throw new Error(`${what}: "${name}" has shape [${shape}], the model expects [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(data, shape)));
  }
}

/** A model that can be rebuilt from `{kind, config}`. */
export type Model = GPT | ImageClassifier;

/** How to rebuild a model: its kind and config. */
export type ModelSpec =
  | { kind: "gpt"; config: GPTConfig }
  | { kind: "mlp"; config: MLPConfig }
  | { kind: "cnn"; config: CNNConfig };

/** A fresh model from its spec. */
export function createModel(spec: ModelSpec): Model {
  switch (spec.kind) {
    case "gpt":
      return createGPT(spec.config);
    case "mlp":
      return createMLP(spec.config);
    case "cnn":
      return createCNN(spec.config);
    default:
      throw new Error(`createModel: unknown kind "${(spec as { kind: string }).kind}"`);
  }
}

/** Writes `config.json` and `weights.safetensors` into `dir` (created if needed). */
export async function saveModel(dir: string, model: Model): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const spec = { kind: model.kind, config: model.config };
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(spec, null, 2) + "\n");
  const bytes = encodeSafetensors(await readParams(model.params), {
    format: "kdlab",
    kind: model.kind,
  });
  await Deno.writeFile(join(dir, "weights.safetensors.tmp"), bytes);
  await Deno.rename(join(dir, "weights.safetensors.tmp"), join(dir, "weights.safetensors"));
}

/** Rebuilds a model saved by {@link saveModel}. */
export async function loadModel(dir: string): Promise<Model> {
  const spec = JSON.parse(await Deno.readTextFile(join(dir, "config.json"))) as ModelSpec;
  const model = createModel(spec);
  const { tensors } = decodeSafetensors(await Deno.readFile(join(dir, "weights.safetensors")));
  assignParams(model.params, tensors, `weights in ${dir}`);
  return model;
}

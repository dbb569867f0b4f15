/**
 * A minimal WebAssembly binary writer: enough of the format (WebAssembly Core Specification 2.0,
 * §5 "Binary Format", with the fixed-width SIMD proposal's opcodes) to build one module that
 * imports a memory and exports functions over i32, f32 and v128 values. kdlab writes its wasm
 * kernels with it (`simd_matmul.ts`): the code is TypeScript, no toolchain or binary blob.
 *
 * @module
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f;
/** f32 value type. */
export const F32 = 0x7d;
/** v128 value type (SIMD). */
export const V128 = 0x7b;

/** Unsigned LEB128 of a non-negative integer (§5.2.2). */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`uleb: expected an integer ≥ 0, got ${n}`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (§5.2.2). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
    throw new Error(`sleb: expected a 32-bit integer, got ${n}`);
  }
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A fixed-width SIMD instruction: the 0xfd prefix and its opcode (immediates follow). */
export function simd(opcode: number): number[] {
  return [0xfd, ...uleb(opcode)];
}

const name = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** Instructions (§5.4), as byte arrays to concatenate; memory offsets are in bytes. */
export const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32: (n: number) => [0x41, ...sleb(n)],
  i32Eqz: () => [0x45],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  i32LtU: () => [0x49],
  i32GtU: () => [0x4b],
  i32GeU: () => [0x4f],
  f32Load: (offset = 0) => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset = 0) => [0x38, 2, ...uleb(offset)],
  f32: (x: number) => [0x43, ...new Uint8Array(Float32Array.of(x).buffer)],
  f32Add: () => [0x92],
  f32Sub: () => [0x93],
  f32Mul: () => [0x94],
  f32Max: () => [0x97],
  f32ConvertI32S: () => [0xb2],
  v128Load: (offset = 0) => [...simd(0x00), 0, ...uleb(offset)],
  v128Store: (offset = 0) => [...simd(0x0b), 0, ...uleb(offset)],
  v128Zero: () => [...simd(0x0c), ...new Array(16).fill(0)],
};

/**
 * One exported function: its parameters (a count of i32 parameters, or their value types), extra
 * locals by type, and body. Functions return nothing.
 */
export interface WasmFunction {
  /** The exported name. */
  name: string;
  /** How many i32 parameters, or their value types. */
  params: number | number[];
  /** Extra locals, by value type. */
  locals: { type: number; count: number }[];
  /** The body's instructions (joined in order). */
  body: number[][];
}

/** The value types of a function's parameters. */
export function paramTypes(f: WasmFunction): number[] {
  return typeof f.params === "number" ? new Array(f.params).fill(I32) : f.params;
}

/**
 * The bytes of a module that imports `env.memory` (any size) and exports the given functions,
 * each `(params) → ()`.
 */
export function moduleBytes(functions: WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(paramTypes(f).map((t) => [t])), 0]);
  const imports = [[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(1)]];
  const code = functions.map((f) => {
    const body = [
      ...vec(f.locals.map((l) => [...uleb(l.count), l.type])),
      ...f.body.flat(),
      ...op.end(),
    ];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

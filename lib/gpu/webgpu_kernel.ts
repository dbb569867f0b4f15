/**
 * Registering a WGSL program as a tfjs kernel of the webgpu backend: the boilerplate shared by
 * the fused kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";

/** Throws unless the active backend is webgpu, naming the calling function `fn`. */
export function requireWebGPU(fn: string): void {
  if (tf.getBackend() !== "webgpu") {
    throw new Error(`${fn}: needs the webgpu backend, active is ${tf.getBackend()}`);
  }
}

/** One dispatch: the program, its inputs in `variableNames` order, and its uniforms. */
export interface WebGPUDispatch {
  /** The program (shader and layout). */
  program: WebGPUProgram;
  /** Its inputs, in `variableNames` order. */
  inputs: tf.TensorInfo[];
  /** Its uniforms, in the order its `uniforms` declaration lists them. */
  uniforms: { type: string; data: number[] }[];
}

/**
 * Registers `kernelName` for the webgpu backend; `plan` turns the kernel's inputs and attributes
 * into one float32 dispatch.
 */
export function registerWebGPUKernel<Attrs>(
  kernelName: string,
  plan: (inputs: Record<string, tf.TensorInfo>, attrs: Attrs) => WebGPUDispatch,
): void {
  tf.registerKernel({
    kernelName,
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { program, inputs: ordered, uniforms } = plan(
        inputs as Record<string, tf.TensorInfo>,
        attrs as unknown as Attrs,
      );
      return (backend as unknown as WebGPUBackend).runWebGPUProgram(
        program,
        ordered,
        "float32",
        uniforms,
      );
    },
  });
}

/** float32 uniforms, one per value, in the order the program's `uniforms` declares them. */
export function f32Uniforms(...values: number[]): WebGPUDispatch["uniforms"] {
  return values.map((x) => ({ type: "float32", data: [x] }));
}

/**
 * Base of the one-thread-per-element programs: 256-thread workgroups over the flattened output,
 * `main(index)` with `uniforms.size` (tfjs folds dispatches past 65535 workgroups).
 */
export abstract class ElementwiseProgram implements WebGPUProgram {
  /** Names of the inputs in the shader, in dispatch order. */
  abstract variableNames: string[];
  /** WGSL declarations of the uniforms (e.g. `lr: f32, step: f32,`). */
  abstract uniforms: string;
  /** Key of the compiled shader in tfjs's cache: must change whenever the code does. */
  abstract shaderKey: string;
  /** The output's shape. */
  outputShape: number[];
  /** tfjs's dispatch layout: every output dimension folded into x. */
  dispatchLayout: { x: number[] };
  /** Workgroups per dimension (x: ⌈elements / 256⌉). */
  dispatch: [number, number, number];
  /** Threads per workgroup. */
  workgroupSize: [number, number, number] = [256, 1, 1];
  /** Ask tfjs for the `uniforms.size` element count. */
  size = true;

  /** A program with one thread per element of `outputShape`. */
  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(outputShape.reduce((a, b) => a * b, 1) / 256), 1, 1];
  }

  /** The WGSL of `main(index)`, with the inputs and uniforms tfjs declares. */
  abstract getUserCode(): string;
}

/**
 * WGSL for a workgroup tree reduction over slots 0..wg−1 (local index `tid`): `merge(i, j)` folds
 * slot j into slot i; the result is slot 0. Every thread must reach it (it holds barriers).
 */
export function treeReduce(wg: number, merge: (i: string, j: string) => string): string {
  let code = "";
  for (let half = wg / 2; half >= 1; half /= 2) {
    code += `if (tid < ${half}u) { ${merge("tid", `tid + ${half}u`)} }
      workgroupBarrier();\n`;
  }
  return code;
}

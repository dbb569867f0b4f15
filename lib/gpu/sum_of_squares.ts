/**
 * Σx² of a whole tensor on the webgpu backend, in two parallel levels: one workgroup per chunk of
 * {@linkcode SUM_OF_SQUARES_CHUNK} elements writes a partial sum of squares, then tfjs sums the
 * partials. tfjs-webgpu reduces a whole tensor to a scalar with a single workgroup (one workgroup
 * per output), after `square` has written an x-sized temporary: for the global gradient norm of
 * gradient clipping (Pascanu et al. 2013), which the trainer measures every step, that is one
 * SM streaming every gradient of the model. Here no temporary is written and every SM takes part.
 *
 * `globalNorm` in `lib/train/clip.ts` uses it on webgpu (`fusedKernelsAvailable()` of `env.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import { registerWebGPUKernel, requireWebGPU, treeReduce } from "./webgpu_kernel.ts";

/** Elements reduced by one workgroup into one partial sum. */
export const SUM_OF_SQUARES_CHUNK = 8192;

const KERNEL = "KdlabSumOfSquaresPartials";
const WORKGROUP = 256;
let registered = false;

/**
 * Σx² over all elements of float32 `x`, as a scalar, on the webgpu backend (no gradient).
 * @throws Error on another backend or dtype.
 */
export function fusedSumOfSquares(x: tf.Tensor): tf.Scalar {
  requireWebGPU("fusedSumOfSquares");
  if (x.dtype !== "float32") {
    throw new Error(`fusedSumOfSquares: x must be float32, got ${x.dtype}`);
  }
  if (x.size === 0) return tf.scalar(0);
  registerSumOfSquares();
  return tf.tidy(() => {
    const partials = tf.engine().runKernel(KERNEL, { x: tf.reshape(x, [-1]) }) as tf.Tensor;
    return tf.sum(partials) as tf.Scalar;
  });
}

function registerSumOfSquares(): void {
  if (registered) return;
  registered = true;
  registerWebGPUKernel<unknown>(KERNEL, ({ x }) => ({
    program: new PartialsProgram(x.shape[0]),
    inputs: [x],
    uniforms: [],
  }));
}

/** One workgroup per chunk; each thread strides through the chunk, then a tree reduction. */
class PartialsProgram implements WebGPUProgram {
  variableNames = ["x"];
  uniforms = "";
  outputShape: number[];
  shaderKey = "kdlabSumOfSquaresPartials";
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  constructor(size: number) {
    const chunks = Math.ceil(size / SUM_OF_SQUARES_CHUNK);
    this.outputShape = [chunks];
    this.dispatch = [chunks, 1, 1];
  }

  getUserCode(): string {
    return `
  var<workgroup> buf : array<f32, ${WORKGROUP}>;
  fn main(index : i32) {
    let tid = localId.x;
    let chunk = index / ${WORKGROUP};
    let n = uniforms.xShape;
    // Chunks past the end (a folded dispatch) read nothing; barriers stay in uniform control flow.
    let start = chunk * ${SUM_OF_SQUARES_CHUNK};
    let end = select(start, min(start + ${SUM_OF_SQUARES_CHUNK}, n), chunk < uniforms.outShape);
    var s = 0.0;
    for (var i = start + i32(tid); i < end; i += ${WORKGROUP}) { let v = x[i]; s = fma(v, v, s); }
    buf[tid] = s;
    workgroupBarrier();
    ${treeReduce(WORKGROUP, (i, j) => `buf[${i}] += buf[${j}];`)}
    if (tid == 0u && chunk < uniforms.outShape) { result[chunk] = buf[0]; }
  }`;
  }
}

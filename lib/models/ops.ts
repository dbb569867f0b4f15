/**
 * Layers written as functions of explicit variables, with gradients that every backend can run:
 * tfjs-backend-wasm registers neither `UnsortedSegmentSum` (the gradient of `gather`) nor
 * `Conv2DBackpropFilter`, so the embedding lookup and the convolution carry custom gradients
 * built from kernels it does have (matMul and the forward conv2d).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedKernelsAvailable } from "../gpu/env.ts";
import { fusedGelu } from "../gpu/fused_gelu.ts";
import { fusedLayerNorm } from "../gpu/fused_layer_norm.ts";

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/** Backends whose tensors live in host memory, where a readback is a copy. */
const onHost = () => tf.getBackend() === "wasm" || tf.getBackend() === "cpu";

/** Swaps the last two axes. */
export const swapLast = (x: tf.Tensor): tf.Tensor =>
  x.rank === 2
    ? x.transpose()
    : x.transpose([...x.shape.keys()].map((i) =>
      i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i
    ));

/** A plain (untransposed) matmul whose gradient uses explicit transposes, not matMul's flags. */
const plainMatMul = tf.customGrad(
  ((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, [av, bv]: tf.Tensor[]) => [
        tf.matMul(dy, swapLast(bv)),
        tf.matMul(swapLast(av), dy),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
);

/**
 * `tf.matMul`, except on wasm, whose kernel is 10-30× slower with a transpose flag set (measured:
 * [2048,4096]ᵀ·[2048,256] takes 8.3 s with the flag, 0.26 s after an explicit transpose) and
 * whose autodiff gradients set those flags: there the operands are transposed explicitly, in the
 * forward pass and in the gradient. (kdlab's SIMD kernel over wasm's BatchMatMul,
 * `lib/wasm/simd_matmul.ts`, transposes flagged operands itself; this keeps the `KD_MATMUL=tfjs`
 * path fast too.)
 */
export function matMul<T extends tf.Tensor>(
  a: T,
  b: T,
  transposeA = false,
  transposeB = false,
): T {
  if (tf.getBackend() !== "wasm") return tf.matMul(a, b, transposeA, transposeB) as T;
  return plainMatMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b) as T;
}

/**
 * Rows of `table` `[V, D]` at integer `ids` (any shape): `[...ids.shape, D]`. Where the backend
 * lacks UnsortedSegmentSum (wasm), the table's gradient is a scatter-add of dy's rows done on the
 * host (wasm and cpu keep tensors in host memory) or `oneHot(ids)ᵀ · dy` elsewhere.
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, dim] = table.shape;
  const flatIds = ids.reshape([-1]) as tf.Tensor1D;
  if (hasKernel("UnsortedSegmentSum")) {
    return tf.gather(table, flatIds).reshape([...ids.shape, dim]);
  }
  const lookup = tf.customGrad(
    ((t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
      save([i]);
      return {
        value: tf.gather(t, i),
        gradFunc: (dy: tf.Tensor, [iv]: tf.Tensor[]) => [
          onHost() ? scatterAddRows(iv, dy, vocab) : matMul(tf.oneHot(iv, vocab), dy, true),
          tf.zerosLike(iv),
        ],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return lookup(table, flatIds).reshape([...ids.shape, dim]);
}

/** `out[ids[i]] += rows[i]` on the host: the gradient of a row lookup. */
function scatterAddRows(ids: tf.Tensor, rows: tf.Tensor, vocab: number): tf.Tensor {
  const dim = rows.shape[rows.rank - 1]!;
  const index = ids.dataSync();
  const values = rows.dataSync();
  const out = new Float32Array(vocab * dim);
  for (let i = 0; i < index.length; i++) {
    const o = index[i] * dim;
    const r = i * dim;
    for (let j = 0; j < dim; j++) out[o + j] += values[r + j];
  }
  return tf.tensor2d(out, [vocab, dim]);
}

/**
 * A stride-1 "same" convolution of `x` `[B, H, W, Cin]` with an odd square `filter`
 * `[k, k, Cin, Cout]`. Where the backend has no Conv2DBackpropFilter, the filter gradient is the
 * correlation of the padded input with dy, computed by the forward conv2d with batch and
 * channels swapped: `dW = conv2d(xᵀ, dyᵀ)` with `xᵀ = [Cin, H+2p, W+2p, B]`, `dyᵀ = [H, W, B, Cout]`.
 */
export function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const k = filter.shape[0];
  if (filter.shape[1] !== k || k % 2 !== 1) {
    throw new Error(
      `conv2dSame: filter must be [k, k, Cin, Cout] with odd k, got [${filter.shape}]`,
    );
  }
  if (x.shape[3] !== filter.shape[2]) {
    throw new Error(`conv2dSame: x has ${x.shape[3]} channels, filter expects ${filter.shape[2]}`);
  }
  if (hasKernel("Conv2DBackpropFilter")) return tf.conv2d(x, filter, 1, "same");
  const conv = tf.customGrad(
    ((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xs, ws]);
      return {
        value: tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, "same"),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xv, wv] = saved as [tf.Tensor4D, tf.Tensor4D];
          const p = (k - 1) / 2;
          const dx = tf.conv2dTranspose(dy as tf.Tensor4D, wv, xv.shape, 1, "same");
          const xt = tf.pad(xv, [[0, 0], [p, p], [p, p], [0, 0]]).transpose([3, 1, 2, 0]);
          const dyt = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
          const dw = tf.conv2d(xt as tf.Tensor4D, dyt, 1, "valid").transpose([1, 2, 0, 3]);
          return [dx, dw];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return conv(x, filter) as tf.Tensor4D;
}

/** `x · w + b` over the last axis of any-rank `x`. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const [inDim, outDim] = w.shape;
  const lead = x.shape.slice(0, -1);
  const y = matMul(x.reshape([-1, inDim]) as tf.Tensor2D, w);
  return (b ? y.add(b) : y).reshape([...lead, outDim]);
}

/** Layer normalisation over the last axis (Ba, Kiros & Hinton, 2016). */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor1D,
  bias: tf.Tensor1D,
  eps = 1e-5,
): tf.Tensor {
  if (x.dtype === "float32" && fusedKernelsAvailable()) return fusedLayerNorm(x, gain, bias, eps);
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(gain).add(bias);
}

const GELU_K = 2 * Math.sqrt(2 / Math.PI);

/** GELU as x·σ(2u) with its own gradient; see {@link gelu}. */
const geluSigmoid = tf.customGrad(
  ((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // 2u = k(x + 0.044715x³) = x(k + 0.044715k·x²), k = 2√(2/π)
    const s = tf.sigmoid(x.mul(x.square().mul(0.044715 * GELU_K).add(GELU_K)));
    save([x, s]);
    return {
      value: x.mul(s),
      gradFunc: (dy: tf.Tensor, [xv, sv]: tf.Tensor[]) => {
        // y′ = s + x·(2u)′·s(1 − s) = s(1 + x(2u)′(1 − s)). x is clipped to ±100 in the
        // polynomial only: there 1 − s and s are exactly 0 in float32 already, and an unclipped
        // x³ would overflow to ∞ past |x| ≈ 1e12 and turn 0·∞ into NaN.
        const xc = tf.clipByValue(xv, -100, 100);
        const xdu = xc.mul(xc.square().mul(3 * 0.044715 * GELU_K).add(GELU_K));
        return dy.mul(sv.mul(xdu.mul(tf.sub(1, sv)).add(1)));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
);

/**
 * GELU, tanh approximation (Hendrycks & Gimpel, 2016, eq. in §2), as GPT-2 uses:
 * ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³). Computed as x·σ(2u), the same function, since
 * ½(1 + tanh u) = σ(2u): wasm's Sigmoid is XNNPACK's vectorised kernel and its Tanh a scalar
 * loop, 5× slower (measured: 2.5 vs 12.8 ms on [1024, 512]); the gradient is written out in
 * five fewer ops than autodiff's. On webgpu, one fused kernel each way (`lib/gpu/fused_gelu.ts`).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === "float32" && fusedKernelsAvailable()) return fusedGelu(x);
  return geluSigmoid(x);
}

/**
 * sign(x) ∈ {−1, 0, 1} on every backend. tfjs-backend-wasm 4.22's `Sign` returns 0 for
 * |x| < 1.2e-7 (FLT_EPSILON; measured: 1e-7 → 0, 1.2e-7 → 1, −1.1e-7 → 0), which would silently
 * zero FGSM's step on small input gradients and TVD's subgradient where p and q nearly agree;
 * this compares with 0 instead. NaN gives 0.
 */
export function sign(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.cast(tf.greater(x, 0), x.dtype), tf.cast(tf.less(x, 0), x.dtype)));
}

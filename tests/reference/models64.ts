/**
 * Float64 references for the model and optimiser code, in plain TypeScript over number arrays,
 * written from the papers' definitions without tfjs: the GPT forward pass (pre-LN, causal
 * attention, tanh-GELU, tied or untied head), a "same" convolution, and AdamW.
 *
 * @module
 */

/** A named tensor on the host. */
export interface Tensor64 {
  shape: number[];
  data: number[];
}

/** Row-major [n, k] × [k, m]. */
export function matmul64(a: number[], b: number[], n: number, k: number, m: number): number[] {
  const out = new Array(n * m).fill(0);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      for (let j = 0; j < m; j++) out[i * m + j] += aip * b[p * m + j];
    }
  }
  return out;
}

function layerNorm64(x: number[], rows: number, d: number, g: number[], b: number[]): number[] {
  const out = new Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[r * d + j] / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[r * d + j] - mean) ** 2 / d;
    for (let j = 0; j < d; j++) {
      out[r * d + j] = (x[r * d + j] - mean) / Math.sqrt(v + 1e-5) * g[j] + b[j];
    }
  }
  return out;
}

/** GELU, tanh approximation (GPT-2's), in float64. */
export const gelu64 = (x: number): number =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function addBias(x: number[], rows: number, bias: number[]): number[] {
  const d = bias.length;
  return x.slice(0, rows * d).map((v, i) => v + bias[i % d]);
}

/**
 * Logits [T, V] of one sequence under GPT weights (names as `createGPT`). With `layerAttention`,
 * also fills in block `layerAttention.layer`'s (from 0; the last when absent) attention
 * probabilities [H][T][T] and values per head [H][T][hd], and, when it has them, its queries and
 * keys per head [H][T][hd].
 */
export function gpt64(
  w: Record<string, Tensor64>,
  cfg: { vocabSize: number; nLayer: number; nHead: number; dModel: number; tieWeights: boolean },
  tokens: number[],
  layerAttention?: {
    layer?: number;
    attention: number[][][];
    values: number[][][];
    queries?: number[][][];
    keys?: number[][][];
  },
): number[] {
  const { vocabSize: V, nLayer, nHead, dModel: D } = cfg;
  const T = tokens.length;
  const hd = D / nHead;
  let x = new Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < D; j++) {
      x[t * D + j] = w.wte.data[tokens[t] * D + j] + w.wpe.data[t * D + j];
    }
  }
  for (let l = 0; l < nLayer; l++) {
    const p = (n: string) => w[`h${l}.${n}`].data;
    const h = layerNorm64(x, T, D, p("ln1.g"), p("ln1.b"));
    const qkv = addBias(matmul64(h, p("attn.wqkv"), T, D, 3 * D), T, p("attn.bqkv"));
    const y = new Array(T * D).fill(0);
    for (let head = 0; head < nHead; head++) {
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let c = 0; c < hd; c++) {
            s += qkv[i * 3 * D + head * hd + c] * qkv[j * 3 * D + D + head * hd + c];
          }
          scores.push(s / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        const lastLayer = layerAttention;
        if (lastLayer && l === (lastLayer.layer ?? nLayer - 1)) {
          (lastLayer.attention[head] ??= [])[i] = Array.from(
            { length: T },
            (_, j) => (j <= i ? e[j] / z : 0),
          );
          (lastLayer.values[head] ??= [])[i] = Array.from(
            { length: hd },
            (_, c) => qkv[i * 3 * D + 2 * D + head * hd + c],
          );
          for (const [part, offset] of [["queries", 0], ["keys", D]] as const) {
            const rows = lastLayer[part];
            if (rows) {
              (rows[head] ??= [])[i] = Array.from(
                { length: hd },
                (_, c) => qkv[i * 3 * D + offset + head * hd + c],
              );
            }
          }
        }
        for (let j = 0; j <= i; j++) {
          for (let c = 0; c < hd; c++) {
            y[i * D + head * hd + c] += e[j] / z * qkv[j * 3 * D + 2 * D + head * hd + c];
          }
        }
      }
    }
    const attn = addBias(matmul64(y, p("attn.wo"), T, D, D), T, p("attn.bo"));
    x = x.map((v, i) => v + attn[i]);
    const m2 = layerNorm64(x, T, D, p("ln2.g"), p("ln2.b"));
    const f = addBias(matmul64(m2, p("mlp.w1"), T, D, 4 * D), T, p("mlp.b1")).map(gelu64);
    const mlp = addBias(matmul64(f, p("mlp.w2"), T, 4 * D, D), T, p("mlp.b2"));
    x = x.map((v, i) => v + mlp[i]);
  }
  const final = layerNorm64(x, T, D, w["lnf.g"].data, w["lnf.b"].data);
  if (!cfg.tieWeights) return matmul64(final, w.lm_head.data, T, D, V);
  const out = new Array(T * V).fill(0);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += final[t * D + j] * w.wte.data[v * D + j];
      out[t * V + v] = s;
    }
  }
  return out;
}

/** Stride-1 "same" convolution of x [B,H,W,Ci] with f [k,k,Ci,Co] (zero padding). */
export function conv2dSame64(x: Tensor64, f: Tensor64): Tensor64 {
  const [B, H, W, Ci] = x.shape;
  const [k, , , Co] = f.shape;
  const p = (k - 1) / 2;
  const out = new Array(B * H * W * Co).fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        for (let o = 0; o < Co; o++) {
          let s = 0;
          for (let di = 0; di < k; di++) {
            for (let dj = 0; dj < k; dj++) {
              const y = i + di - p;
              const z = j + dj - p;
              if (y < 0 || y >= H || z < 0 || z >= W) continue;
              for (let c = 0; c < Ci; c++) {
                s += x.data[((b * H + y) * W + z) * Ci + c] *
                  f.data[((di * k + dj) * Ci + c) * Co + o];
              }
            }
          }
          out[((b * H + i) * W + j) * Co + o] = s;
        }
      }
    }
  }
  return { shape: [B, H, W, Co], data: out };
}

/** AdamW (torch.optim.AdamW semantics) over steps of given gradients; returns the parameters. */
export function adamw64(
  params: number[],
  gradients: number[][],
  o: { lr: number[]; beta1: number; beta2: number; eps: number; weightDecay: number },
): number[] {
  const p = [...params];
  const m = new Array(p.length).fill(0);
  const v = new Array(p.length).fill(0);
  gradients.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr[s] * o.weightDecay;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      const mh = m[i] / (1 - o.beta1 ** t);
      const vh = v[i] / (1 - o.beta2 ** t);
      p[i] -= o.lr[s] * mh / (Math.sqrt(vh) + o.eps);
    }
  });
  return p;
}

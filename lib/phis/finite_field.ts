/**
 * Finite fields GF(q), q = pᵏ for an odd or even prime p: what Paley's Hadamard constructions
 * need (Paley, "On orthogonal matrices", J. Math. Phys. 12, 1933): element subtraction and the
 * quadratic character. Elements are the integers 0..q−1, read as polynomials over GF(p) whose
 * base-p digits are the coefficients; multiplication is modulo a monic irreducible polynomial of
 * degree k found by trial division.
 *
 * @module
 */

/** The prime-power decomposition q = pᵏ, or undefined when q is not a prime power (q ≥ 2). */
export function primePower(q: number): { p: number; k: number } | undefined {
  if (!Number.isInteger(q) || q < 2) return undefined;
  let p = 0;
  for (let d = 2; d * d <= q; d++) {
    if (q % d === 0) {
      p = d;
      break;
    }
  }
  if (p === 0) return { p: q, k: 1 };
  let k = 0;
  let rest = q;
  while (rest % p === 0) {
    rest /= p;
    k++;
  }
  return rest === 1 ? { p, k } : undefined;
}

/** Remainder of polynomial `a` modulo monic `m` over GF(p) (coefficients low degree first). */
function polyMod(a: number[], m: number[], p: number): number[] {
  const r = a.slice();
  const dm = m.length - 1;
  for (let i = r.length - 1; i >= dm; i--) {
    const c = r[i] % p;
    if (c === 0) continue;
    for (let j = 0; j <= dm; j++) r[i - dm + j] = ((r[i - dm + j] - c * m[j]) % p + p) % p;
  }
  return r.slice(0, dm).map((v) => ((v % p) + p) % p);
}

/** Monic polynomials of degree `deg` over GF(p), coefficients low degree first. */
function* monicPolynomials(deg: number, p: number): Generator<number[]> {
  const count = p ** deg;
  for (let code = 0; code < count; code++) {
    const poly: number[] = [];
    let c = code;
    for (let i = 0; i < deg; i++) {
      poly.push(c % p);
      c = Math.floor(c / p);
    }
    poly.push(1);
    yield poly;
  }
}

/** The first monic irreducible polynomial of degree k over GF(p) (in code order). */
export function irreduciblePolynomial(p: number, k: number): number[] {
  for (const f of monicPolynomials(k, p)) {
    if (k > 1 && f[0] === 0) continue;
    let reducible = false;
    for (let d = 1; d <= Math.floor(k / 2) && !reducible; d++) {
      for (const g of monicPolynomials(d, p)) {
        if (polyMod(f, g, p).every((v) => v === 0)) {
          reducible = true;
          break;
        }
      }
    }
    if (!reducible) return f;
  }
  throw new Error(`irreduciblePolynomial: none of degree ${k} over GF(${p}) (impossible)`);
}

/** GF(q) arithmetic on element codes 0..q−1. */
export class FiniteField {
  /** The field's order q = p^k. */
  readonly q: number;
  /** The characteristic p. */
  readonly p: number;
  /** The degree k over GF(p). */
  readonly k: number;
  /** The modulus (monic, degree k); [0, 1] for a prime field. */
  readonly modulus: number[];
  readonly #isSquare: Uint8Array;

  /** GF(q); throws when q is not a prime power. */
  constructor(q: number) {
    const pk = primePower(q);
    if (!pk) throw new Error(`FiniteField: q must be a prime power ≥ 2, got ${q}`);
    this.q = q;
    this.p = pk.p;
    this.k = pk.k;
    this.modulus = pk.k === 1 ? [0, 1] : irreduciblePolynomial(pk.p, pk.k);
    this.#isSquare = new Uint8Array(q);
    for (let x = 1; x < q; x++) this.#isSquare[this.multiply(x, x)] = 1;
  }

  #digits(x: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.k; i++) {
      out.push(x % this.p);
      x = Math.floor(x / this.p);
    }
    return out;
  }

  #code(digits: number[]): number {
    let x = 0;
    for (let i = digits.length - 1; i >= 0; i--) x = x * this.p + digits[i];
    return x;
  }

  /** a − b. */
  subtract(a: number, b: number): number {
    if (this.k === 1) return ((a - b) % this.q + this.q) % this.q;
    const da = this.#digits(a);
    const db = this.#digits(b);
    return this.#code(da.map((v, i) => ((v - db[i]) % this.p + this.p) % this.p));
  }

  /** a · b. */
  multiply(a: number, b: number): number {
    if (this.k === 1) return (a * b) % this.q;
    const da = this.#digits(a);
    const db = this.#digits(b);
    const prod = new Array(2 * this.k - 1).fill(0);
    for (let i = 0; i < this.k; i++) {
      for (let j = 0; j < this.k; j++) prod[i + j] = (prod[i + j] + da[i] * db[j]) % this.p;
    }
    return this.#code(polyMod(prod, this.modulus, this.p));
  }

  /** The quadratic character χ: 0 at 0, +1 on non-zero squares, −1 otherwise. */
  character(a: number): number {
    if (a === 0) return 0;
    return this.#isSquare[a] ? 1 : -1;
  }
}

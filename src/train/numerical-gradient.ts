/**
 * The book's numerical_gradient: central differences (f(x+h) - f(x-h)) / 2h, one coordinate
 * at a time, restoring each before the next. Slow on purpose: it is the yardstick backprop is
 * checked against, and the reason backprop exists.
 */
export function numericalGradient(f: () => number, x: Float64Array | Float32Array, h = 1e-4): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i]!;
    x[i] = saved + h;
    const up = f();
    x[i] = saved - h;
    const down = f();
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

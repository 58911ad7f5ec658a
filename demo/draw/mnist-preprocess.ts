/**
 * Turns a drawing into what MNIST digits look like, the way MNIST itself was made (LeCun et al.):
 * the digit is scaled to fit a 20×20 box, keeping its aspect ratio, with anti-aliased grey
 * levels, then placed in a 28×28 field so that its center of mass sits at the center. A net
 * trained on MNIST only knows digits prepared like this: a raw 28×28 shrink of the canvas puts a
 * small or off-center digit where it has never seen one. The page can switch the centring off, to
 * show how a convnet copes with an off-centre digit next to the MLP.
 */

export const FIELD = 28;
const BOX = 20;
/** Ink darker than this does not count toward the bounding box (anti-aliasing fringe). */
const INK_THRESHOLD = 0.1;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The smallest box holding every pixel with ink above the threshold, or null for a blank image. */
export function inkBox(ink: ArrayLike<number>, width: number, height: number): Box | null {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! <= INK_THRESHOLD) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * Box-filter resampling of one axis: output cell i averages the input over [i, i+1)·(n/m),
 * weighting the input cells it only partly covers by their covered fraction. This is what gives
 * the anti-aliased grey levels of a downscaled stroke.
 */
function resampleAxis(src: Float64Array, lines: number, n: number, m: number, stride: number, step: number, outStride: number, outStep: number, out: Float64Array): void {
  const ratio = n / m;
  for (let line = 0; line < lines; line++) {
    for (let i = 0; i < m; i++) {
      const start = i * ratio;
      const end = start + ratio;
      let sum = 0;
      for (let k = Math.floor(start); k < Math.min(Math.ceil(end), n); k++) {
        const cover = Math.min(end, k + 1) - Math.max(start, k);
        sum += cover * src[line * stride + k * step]!;
      }
      out[line * outStride + i * outStep] = sum / ratio;
    }
  }
}

/** Crops `box` out of the image and resamples it to w×h. */
export function resample(ink: ArrayLike<number>, width: number, box: Box, w: number, h: number): Float64Array {
  const crop = new Float64Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) crop[y * box.width + x] = ink[(box.y + y) * width + box.x + x]!;
  }
  const rows = new Float64Array(w * box.height);
  resampleAxis(crop, box.height, box.width, w, box.width, 1, w, 1, rows);
  const out = new Float64Array(w * h);
  resampleAxis(rows, w, box.height, h, 1, w, 1, w, out);
  return out;
}

/** Center of mass (x, y) of an image, in pixel-center coordinates. */
export function centerOfMass(image: ArrayLike<number>, width: number, height: number): [number, number] {
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = image[y * width + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return mass > 0 ? [mx / mass, my / mass] : [width / 2, height / 2];
}

export interface PreprocessOptions {
  /**
   * Centre the digit's center of mass in the field, as MNIST does (default). Off, the digit is
   * still scaled to the 20×20 box but stays where it was drawn: its box sits at the same place
   * in the 28×28 field as on the pad, kept inside the field (at most 4 pixels off centre each way).
   */
  centre?: boolean;
}

/**
 * ink: width×height values in [0, 1] (1 = full ink). Returns 28×28 values in [0, 1] as the
 * network's input, or null when nothing is drawn.
 */
export function toMnistInput(ink: ArrayLike<number>, width: number, height: number, { centre = true }: PreprocessOptions = {}): Float32Array | null {
  const box = inkBox(ink, width, height);
  if (!box) return null;
  const scale = BOX / Math.max(box.width, box.height);
  const w = Math.max(1, Math.round(box.width * scale));
  const h = Math.max(1, Math.round(box.height * scale));
  const digit = resample(ink, width, box, w, h);
  let left: number;
  let top: number;
  if (centre) {
    // Where the digit's top-left goes so that its center of mass lands on the field's center.
    const [cx, cy] = centerOfMass(digit, w, h);
    left = Math.round(FIELD / 2 - cx);
    top = Math.round(FIELD / 2 - cy);
  } else {
    // The box's center at the same fraction of the field as of the pad.
    left = Math.round(((box.x + box.width / 2) / width) * FIELD - w / 2);
    top = Math.round(((box.y + box.height / 2) / height) * FIELD - h / 2);
  }
  // Kept inside the field.
  left = Math.min(Math.max(left, 0), FIELD - w);
  top = Math.min(Math.max(top, 0), FIELD - h);
  const out = new Float32Array(FIELD * FIELD);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[(top + y) * FIELD + left + x] = Math.min(digit[y * w + x]!, 1);
  }
  return out;
}

/**
 * Paints small images (28×28 digits, weight patterns, unit activations) onto canvases. The canvas
 * holds the image at its own resolution and CSS scales it up with `image-rendering: pixelated`,
 * so every pixel of what the network sees stays visible.
 */

export type Colormap = (v: number) => [number, number, number];

/** 0 → black, 1 → white: MNIST's own look. */
export const grayscale: Colormap = (v) => {
  const g = Math.round(255 * Math.min(Math.max(v, 0), 1));
  return [g, g, g];
};

/** -1 → blue, 0 → white, +1 → red: signs of weights and pre-activations. */
export const diverging: Colormap = (v) => {
  const t = Math.min(Math.max(v, -1), 1);
  const fade = (c: number) => Math.round(255 - (255 - c) * Math.abs(t));
  return t >= 0 ? [fade(214), fade(39), fade(40)] : [fade(31), fade(119), fade(180)];
};

/** 0 → white, 1 → dark teal: how strongly a unit fires. */
export const sequential: Colormap = (v) => {
  const t = Math.min(Math.max(v, 0), 1);
  return [Math.round(255 - 235 * t), Math.round(255 - 160 * t), Math.round(255 - 130 * t)];
};

export function paint(canvas: HTMLCanvasElement, values: ArrayLike<number>, width: number, height: number, colormap: Colormap, scale = 1): void {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = colormap((values[i] ?? 0) / scale);
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

export function maxAbs(values: ArrayLike<number>, from = 0, to = values.length): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(values[i]!));
  return m || 1;
}

/** A canvas that shows a width×height image at `zoom` CSS pixels per pixel. */
export function pixelCanvas(width: number, height: number, zoom: number, className = 'pixels'): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  canvas.style.width = `${width * zoom}px`;
  canvas.style.height = `${height * zoom}px`;
  return canvas;
}

/**
 * The canvas the user draws a digit on: white ink on black, like MNIST, with a pen about as
 * thick, relative to the digit, as MNIST's strokes. Reports the ink at most once per frame
 * while drawing, so the class probabilities follow the pen.
 */

const SIZE = 280;
const PEN = 22;

export class DrawPad {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private last: [number, number] | null = null;
  private pending = false;

  constructor(
    host: HTMLElement,
    private readonly onInk: (ink: Float32Array, width: number, height: number) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = this.canvas.height = SIZE;
    this.canvas.className = 'draw-pad';
    this.canvas.setAttribute('aria-label', 'draw a digit here');
    host.append(this.canvas);
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('demo: no 2D canvas context');
    this.ctx = ctx;
    this.clear();
    this.canvas.addEventListener('pointerdown', (e) => this.down(e));
    this.canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'pointerleave'] as const) this.canvas.addEventListener(type, () => this.up());
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, SIZE, SIZE);
    this.report();
  }

  /** Paints a 28×28 MNIST image (bytes) over the whole pad, as if drawn there, and reports it. */
  paintImage(pixels: ArrayLike<number>): void {
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const sctx = small.getContext('2d')!;
    const image = sctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      image.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], 4 * i);
    }
    sctx.putImageData(image, 0, 0);
    this.ctx.imageSmoothingEnabled = true;
    this.ctx.imageSmoothingQuality = 'high';
    this.ctx.drawImage(small, 0, 0, SIZE, SIZE);
    this.report();
  }

  /** Ink per canvas pixel in [0, 1] (the red channel of white-on-black). */
  ink(): Float32Array {
    const rgba = this.ctx.getImageData(0, 0, SIZE, SIZE).data;
    const out = new Float32Array(SIZE * SIZE);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i]! / 255;
    return out;
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIZE, ((e.clientY - r.top) / r.height) * SIZE];
  }

  private down(e: PointerEvent): void {
    this.canvas.setPointerCapture?.(e.pointerId);
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  private move(e: PointerEvent): void {
    if (!this.last) return;
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  private up(): void {
    if (!this.last) return;
    this.last = null;
    this.report();
  }

  private stroke(from: [number, number], to: [number, number]): void {
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = PEN;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(...from);
    c.lineTo(...to);
    c.stroke();
    this.reportSoon();
  }

  private reportSoon(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.report();
    });
  }

  private report(): void {
    this.onInk(this.ink(), SIZE, SIZE);
  }
}

/**
 * Names the layer behind each GPU dispatch of a training step: kernel, shapes and workgroups as
 * GpuContext's trace records them, plus which phase and which of the book's layers recorded it,
 * by labelling the layers' forward/backward calls and noting each dispatch made under a label.
 * The engine has no hook for labels, so the tagger wraps `ctx.dispatch` and the layer methods of
 * the nets it is given (demo code only). It keeps its own records between begin and end rather
 * than pair its tags with `ctx.lastTrace`: the Trainer submits a readback window's last step
 * together with the window's loss snapshot, after `end`, so at that step's end the context's
 * last trace is still an earlier submit's.
 */
import { ConvReluPool, kernelName, type Dispatch, type DispatchRecord, type GpuContext, type Layer, type Sequential, type StepPhase, type StepTracer, type Tensor } from 'webgpu-backprop';

export interface TracedDispatch extends DispatchRecord {
  phase: StepPhase;
  /** The layer or part of the loop that recorded it, e.g. 'Affine W1, b1'. */
  layer: string;
  /** What was dispatched, kept so the kernel can be run again to time it (absent if untagged). */
  dispatch: Dispatch | undefined;
}

export interface StepTrace {
  /** The training step this was (0-based); -1 for a step recorded only to be shown or timed. */
  step: number;
  dispatches: TracedDispatch[];
}

/**
 * A layer as the trace shows it: by its parameters where it has some ('Affine W1, b1',
 * 'BatchNorm gamma1, beta1', a fused block 'Conv+Relu+Pool W1, b1'), else by its kind and
 * number ('Relu 1', 'Dropout 1').
 */
function layerLabel<T extends Tensor>(layer: Layer<T>): string {
  const kind = layer instanceof ConvReluPool ? 'Conv+Relu+Pool' : layer.name.replace(/\d+$/, '');
  const params = layer.params().map((p) => p.name);
  return params.length > 0 ? `${kind} ${params.join(', ')}` : `${kind} ${layer.name.slice(kind.length)}`.trimEnd();
}

interface Tag {
  phase: StepPhase;
  layer: string;
  dispatch: Dispatch;
  record: DispatchRecord;
}

export class DispatchTagger implements StepTracer {
  /** Called with the trace of every step the training loop records. */
  onStep: ((trace: StepTrace) => void) | undefined;
  private phase: StepPhase = 'data';
  private layer = '';
  private capturing = false;
  private step = -1;
  private tags: Tag[] = [];
  /** The context's own dispatch, for timing runs that must not be tagged. */
  readonly dispatchUntagged: (d: Dispatch) => void;

  constructor(readonly ctx: GpuContext) {
    // The trace is what the page shows: a context keeps none unless asked.
    ctx.tracing = true;
    const dispatch = ctx.dispatch.bind(ctx);
    this.dispatchUntagged = dispatch;
    ctx.dispatch = (d: Dispatch) => {
      dispatch(d);
      // The context skips empty dispatches and records nothing when tracing is off: so do we,
      // and our records are what its trace would hold.
      const [x, y = 1, z = 1] = d.workgroups;
      if (this.capturing && ctx.tracing && x > 0 && y > 0 && z > 0) {
        this.tags.push({ phase: this.phase, layer: this.layer, dispatch: d, record: { kernel: kernelName(d.kernel), shapes: d.shapes, workgroups: [x, y, z] } });
      }
    };
  }

  /** Labels the forward and backward of every layer of `net` (call once per net). */
  labelLayers<T extends Tensor>(net: Sequential<T>): void {
    for (const layer of net.layers) {
      const name = layerLabel(layer);
      this.wrap(layer, 'forward', 'forward', name);
      this.wrap(layer, 'backward', 'backward', name);
    }
    this.wrap(net.lastLayer, 'forward', 'forward', 'SoftmaxWithLoss');
    this.wrap(net.lastLayer, 'backward', 'backward', 'SoftmaxWithLoss');
    // The weight-decay terms belong to no layer: the net adds ½λ‖W‖² to the loss and λ·W to each
    // dW itself. Labelling the whole loss and gradient leaves exactly those outside every
    // layer's label (the layers' own labels nest inside).
    this.wrap(net, 'loss', 'forward', 'weight decay ½λ‖W‖²');
    this.wrap(net, 'gradient', 'backward', 'weight decay λ·W');
  }

  begin(step: number): void {
    this.capturing = true;
    this.step = step;
    this.tags = [];
  }

  label<R>(phase: StepPhase, what: string, work: () => R): R {
    const saved = [this.phase, this.layer] as const;
    [this.phase, this.layer] = [phase, what];
    try {
      return work();
    } finally {
      [this.phase, this.layer] = saved;
    }
  }

  /** Call at the end of the step: the dispatches recorded since `begin`, each with its tag. */
  end(): StepTrace {
    this.capturing = false;
    const dispatches = this.tags.map((t): TracedDispatch => ({ ...t.record, phase: t.phase, layer: t.layer, dispatch: t.dispatch }));
    const trace = { step: this.step, dispatches };
    if (this.step >= 0) this.onStep?.(trace);
    this.tags = [];
    return trace;
  }

  private wrap<O extends object, K extends keyof O & string>(obj: O, key: K, phase: StepPhase, layer: string): void {
    const original = obj[key] as unknown as (...args: unknown[]) => unknown;
    (obj as Record<K, unknown>)[key] = (...args: unknown[]) => this.label(phase, layer, () => original.apply(obj, args));
  }
}

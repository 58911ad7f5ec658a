/**
 * Labels the dispatches of a training step with where in the step they come from, for a
 * dispatch trace such as the demo's (the layers label their own forward and backward). The
 * Trainer calls it around each step; a CPU run or a run nobody traces uses NO_TRACER.
 */
export type StepPhase = 'data' | 'forward' | 'backward' | 'update' | 'bookkeeping';

/** Brackets a step and labels its parts; see the module comment. */
export interface StepTracer {
  begin(step: number): void;
  label<R>(phase: StepPhase, what: string, work: () => R): R;
  end(): void;
}

/** A tracer that records nothing. */
export const NO_TRACER: StepTracer = {
  begin() {},
  label: (_phase, _what, work) => work(),
  end() {},
};

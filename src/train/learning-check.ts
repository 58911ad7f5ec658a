/**
 * Did a run learn? Training can fail while every loss stays a finite number: with softmax and
 * cross-entropy, a learning rate far too large drives the loss up to 10 or 20 and leaves it
 * there, and one far too small (or weights too small for the depth) keeps it at ln(classes) with
 * the accuracy at chance. The divergence guard only sees NaN and infinity, so this looks at the
 * losses' trend and the final accuracy and names the likely cause.
 */

/** The thresholds, chosen so that no run of the book's settings trips them (test/learning-check.test.ts). */
export const LEARNING_CHECK = {
  /** Fewer steps than this are too noisy to judge (and fewer than two windows' worth). */
  minSteps: 20,
  /** The loss "rose" when the last window's mean is this many times the start ... */
  riseFactor: 2,
  /**
   * ... and higher by at least this much. Minibatch losses of 100 examples scatter by about 0.1
   * whatever their level, so a resumed run whose first minibatch was an easy one stays clear.
   */
  riseAtLeast: 0.5,
  /** The start is measured over the first steps that together see this many examples ... */
  startExamples: 100,
  /** ... and each window of the trend over at least this many. */
  windowExamples: 300,
  /** Accuracy below this many times chance (1 / classes) is "at chance". */
  chanceFactor: 1.5,
  /** "At chance" needs this many steps, and a loss that fell by less than `flatDrop` of its start. */
  minStepsAtChance: 100,
  flatDrop: 0.05,
} as const;

/** What checkLearning looks at. */
export interface LearningEvidence {
  /** The loss of each step of the run, in order. */
  losses: ArrayLike<number>;
  /** Examples per step (default 100): how noisy one step's loss is. */
  batchSize?: number;
  /** The number of classes the net chooses between (chance accuracy is 1 / classes). */
  classes: number;
  /** Accuracy at the end of the run (the test set's), where the run evaluated one. */
  accuracy?: number;
  /** The run's learning rate, and the usual one for its optimizer, for the advice. */
  lr?: number;
  usualLr?: number;
}

/** Why a run did not learn. */
export interface LearningProblem {
  /** 'loss-rose': the loss ended well above where it started; 'at-chance': nothing was learned. */
  kind: 'loss-rose' | 'at-chance';
  /** One line: what happened and the likely cause, e.g. "the loss rose from 2.30 to 14.2: ...". */
  message: string;
  /** Where the loss started (the lower of the first steps' and the first window's mean) and ended (the last window's mean). */
  firstLoss: number;
  lastLoss: number;
  accuracy?: number;
}

/** Returns what went wrong with a run that did not learn, or null for a run that did (or is too short to tell). */
export function checkLearning(e: LearningEvidence): LearningProblem | null {
  const n = e.losses.length;
  const batch = e.batchSize ?? 100;
  // Windows of a tenth of the run (up to 100 steps, at least 300 examples) smooth the minibatch
  // noise. The start is the lower of the first window's mean and that of the first steps (the
  // first 100 examples): a learning rate far too large blows the loss up within a window.
  const window = Math.max(Math.ceil(LEARNING_CHECK.windowExamples / batch), Math.min(100, Math.floor(n / 10)));
  if (n < LEARNING_CHECK.minSteps || n < 2 * window) return null;
  const firstWindow = mean(e.losses, 0, window);
  const firstLoss = Math.min(mean(e.losses, 0, Math.ceil(LEARNING_CHECK.startExamples / batch)), firstWindow);
  const lastLoss = mean(e.losses, n - window, n);
  const lr = e.lr === undefined ? 'the learning rate' : `the learning rate ${e.lr}`;
  const jumpedEarly = firstWindow > firstLoss * 1.1;
  const tooLarge = jumpedEarly || (e.lr !== undefined && e.usualLr !== undefined && e.lr > e.usualLr * 10);
  const tooSmall = e.lr !== undefined && e.usualLr !== undefined && e.lr < e.usualLr / 10;
  const smaller = e.lr === undefined ? undefined : Math.min(e.lr / 10, e.usualLr ?? Infinity);
  const largeAdvice = `${lr} is probably too large${smaller === undefined ? '' : `; try ${fmt(smaller)}`}`;

  if (lastLoss > firstLoss * LEARNING_CHECK.riseFactor && lastLoss - firstLoss >= LEARNING_CHECK.riseAtLeast) {
    return { kind: 'loss-rose', message: `the loss rose from ${fmt(firstLoss)} to ${fmt(lastLoss)}: ${largeAdvice}`, firstLoss, lastLoss, accuracy: e.accuracy };
  }

  const chance = 1 / e.classes;
  const flat = lastLoss > firstLoss * (1 - LEARNING_CHECK.flatDrop);
  if (e.accuracy !== undefined && n >= LEARNING_CHECK.minStepsAtChance && e.accuracy < chance * LEARNING_CHECK.chanceFactor && flat) {
    const cause = tooLarge
      ? largeAdvice
      : tooSmall
        ? `${lr} is probably too small; try ${fmt(e.usualLr!)}`
        : `${lr} may be too small, or the initial weights too small for the depth (try the Xavier or He init)`;
    return {
      kind: 'at-chance',
      message: `the accuracy is ${fmt(e.accuracy)}, chance for ${e.classes} classes, and the loss stayed at ${fmt(lastLoss)} (from ${fmt(firstLoss)}): the net did not learn; ${cause}`,
      firstLoss,
      lastLoss,
      accuracy: e.accuracy,
    };
  }
  return null;
}

function mean(values: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return sum / (to - from);
}

/** Three significant digits, without trailing zeros or exponents for everyday values. */
function fmt(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

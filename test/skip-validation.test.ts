import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SkipValidationResult } from '../bench/skip-validation.js';

// The A/B itself never runs here: one quick round (two child processes, a device each, 3 + 20
// steps a path on a small synthetic set) checks that both arms report finite timings and that
// the skip_validation toggle took effect in the one arm and not in the other.
const out = mkdtempSync(join(tmpdir(), 'skip-validation-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench/skip-validation.ts --quick', () => {
  it('writes both arms with finite positive timings and the toggle verified in each', () => {
    const file = join(out, 'result.json');
    const r = spawnSync('node', ['--import', './tools/register.mjs', 'bench/skip-validation.ts', '--quick', '--no-mnist', '--rounds', '1', '--out', file, '--child-timeout', '60'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stdout).toContain('toggle verified in every child: yes');
    const result = JSON.parse(readFileSync(file, 'utf8')) as SkipValidationResult;
    expect(result.schema).toBe('webgpu-backprop-skip-validation/1');
    expect(result.verified).toBe(true);
    expect(result.rounds).toHaveLength(1);
    const round = result.rounds[0]!;
    expect(round.on.validation).toBe('on');
    expect(round.off.validation).toBe('off');
    expect(round.on.flags).toEqual([]);
    expect(round.off.flags).toEqual(['enable-dawn-features=skip_validation']);
    // Validation on: the aliased dispatch and the forbidden buffer are rejected, the dispatch never runs.
    expect(round.on.probe.found).toBe('on');
    expect(round.on.probe.aliasedDispatch.error).toMatch(/aliasing/i);
    expect(round.on.probe.aliasedDispatch.words).toEqual([0, 0, 0, 0]);
    expect(round.on.probe.mapReadStorageBuffer.error).toMatch(/MapRead/);
    // Validation off: both go through, and the shader wrote its two words.
    expect(round.off.probe).toEqual({ aliasedDispatch: { error: null, words: [7, 9, 0, 0] }, mapReadStorageBuffer: { error: null }, found: 'off' });
    expect(round.on.pid).not.toBe(round.off.pid);

    for (const arm of [round.on, round.off]) {
      expect(arm.paths.map((p) => p.path)).toEqual(['layers', 'fused']);
      for (const p of arm.paths) {
        expect(p.skipped).toBeUndefined();
        expect(p.hostUs!.n).toBe(20);
        for (const x of [p.hostUs!.median, p.hostUs!.p10, p.wallMs!.median, p.dispatchesPerStep!]) {
          expect(Number.isFinite(x) && x > 0, `${arm.validation} ${p.path}: ${x}`).toBe(true);
        }
      }
    }
    for (const path of ['layers', 'fused']) {
      const s = result.summary[path]!;
      for (const x of [s.hostUs.on.median, s.hostUs.off.median, s.hostUs.ratio.median, s.wallMs.on.median, s.wallMs.off.median, s.wallMs.ratio.median]) {
        expect(Number.isFinite(x) && x > 0, `${path}: ${x}`).toBe(true);
      }
      // Skipping validation changes no result: the same weights after the same steps.
      expect(s.sameWeights).toBe(true);
    }
    expect(result.summary.layers!.dispatchesPerStep).toBe(18);
    expect(result.summary.fused!.dispatchesPerStep).toBe(2);
    expect(result.notes).toEqual([]);
  });
});

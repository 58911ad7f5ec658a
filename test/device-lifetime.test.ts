import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * A Dawn instance freed while a device's promises were still polled crashed or hung the process
 * about one test file in three (src/device/discover-node.ts keeps instances for that reason).
 * The fixture provokes it on purpose: destroy with work in flight, then garbage collections.
 * It runs in a child process so that a crash or a hang fails this test instead of killing the
 * test worker.
 */
describe('device lifetime in Node', () => {
  it('destroying devices with work in flight, then collecting garbage, neither crashes nor hangs', () => {
    const r = spawnSync('node', ['--expose-gc', '--import', './tools/register.mjs', 'test/fixtures/device-lifetime.ts', '4'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    const said = `exit ${r.status}, signal ${r.signal}\n${r.stdout}\n${r.stderr}`;
    expect(r.signal, said).toBeNull();
    expect(r.status, said).toBe(0);
    expect(r.stderr, said).not.toContain('terminate called');
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rounds: number; adapter: string };
    expect(last.rounds).toBe(4);
    expect(last.adapter.length).toBeGreaterThan(0);
  });
});

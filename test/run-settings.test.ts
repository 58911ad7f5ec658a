/**
 * One definition of a run's settings and one validation, shared by npm start's flags, the demo's
 * URL and form, and checkpoints (src/train/run-settings.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseSettings as parseCliSettings } from '../src/cli/train.js';
import { UsageError } from '../tools/cli-args.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { bookLayers } from '../src/nn/conv-relu-pool.js';
import {
  createNet,
  formatRunSetting,
  NET_KINDS,
  netDefaults,
  parseRunSetting,
  RUN_DEFAULTS,
  RUN_KEYS,
  runSettingsOf,
  SettingError,
  validRunSettings,
  type NetKind,
  type RunKey,
} from '../src/train/run-settings.js';
import { BOOK_SETTINGS, parseSettings as parseDemoSettings, toQuery } from '../demo/app/settings.js';

const BAD: [RunKey, string][] = [
  ['device', 'tpu'],
  ['steps', '1.5'],
  ['steps', '0'],
  ['batch', '-1'],
  ['lr', '0'],
  ['lr', 'NaN'],
  ['lr', 'Infinity'],
  ['optimizer', 'adamw'],
  ['hidden', '50,0'],
  ['hidden', '1,2,3,4,5,6,7'],
  ['hidden', '5000'],
  ['activation', 'tanh'],
  ['init', 'lecun'],
  ['weightDecay', '-0.1'],
  ['dropout', '1'],
  ['batchNorm', 'yes'],
  ['seed', '-3'],
];

describe('run settings', () => {
  it('every default survives formatting and parsing', () => {
    for (const key of RUN_KEYS) expect(parseRunSetting(key, formatRunSetting(key, RUN_DEFAULTS[key]))).toEqual(RUN_DEFAULTS[key]);
  });

  it('parses what the book uses', () => {
    expect(parseRunSetting('hidden', ' 100, 50 ')).toEqual([100, 50]);
    expect(parseRunSetting('lr', '0.001')).toBe(0.001);
    expect(parseRunSetting('dropout', '0')).toBe(0);
    expect(parseRunSetting('batchNorm', '1')).toBe(true);
    expect(parseRunSetting('optimizer', 'adam')).toBe('adam');
  });

  it.each(BAD)('%s=%s is refused with a SettingError saying what it must be', (key, text) => {
    let error: unknown;
    try {
      parseRunSetting(key, text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingError);
    expect((error as SettingError).message).toBe(`${key} must be ${(error as SettingError).requirement}, got '${text}'`);
  });

  it('npm start and the demo page refuse the same values with the same words', () => {
    for (const [key, text] of BAD) {
      if (key === 'batchNorm') continue; // a bare flag on the command line
      const requirement = (() => {
        try {
          parseRunSetting(key, text);
        } catch (e) {
          return (e as SettingError).requirement;
        }
        throw new Error(`${key}=${text} was accepted`);
      })();
      const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      expect(() => parseCliSettings([`--${flag}=${text}`])).toThrow(UsageError);
      expect(() => parseCliSettings([`--${flag}=${text}`])).toThrow(`--${flag} must be ${requirement}, got '${text}'`);
      const { problems } = parseDemoSettings(`${key}=${encodeURIComponent(text)}`);
      expect(problems).toEqual([`${key}=${text} ignored: must be ${requirement}`]);
    }
  });

  it("a checkpoint's settings are validated as if typed: unknown or bad values are refused", () => {
    const saved = runSettingsOf({ ...RUN_DEFAULTS, hidden: [100, 50], optimizer: 'adam', lr: 0.001 });
    expect(validRunSettings(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    expect(() => validRunSettings({ ...saved, dropout: 1.5 })).toThrow("dropout must be a ratio from 0 up to, not including, 1, got '1.5'");
    expect(() => validRunSettings({ ...saved, colour: 'blue' })).toThrow(SettingError);
  });

  it("the demo's link carries only what differs from the book, and reads back the same run", () => {
    const { settings } = parseDemoSettings('optimizer=adam&lr=0.001&hidden=100,50&batchNorm=1');
    expect(toQuery(settings)).toBe('hidden=100%2C50&lr=0.001&optimizer=adam&batchNorm=1');
    expect(parseDemoSettings(toQuery(settings)).settings).toEqual(settings);
    expect(toQuery(BOOK_SETTINGS)).toBe('');
  });
});

describe('the net setting', () => {
  it('takes the three nets, refuses others, and defaults the convnets to Adam at lr 0.001', () => {
    expect(NET_KINDS.map((k) => parseRunSetting('net', k))).toEqual(['mlp', 'simple-conv', 'deep-conv']);
    expect(() => parseRunSetting('net', 'lenet')).toThrow("net must be one of mlp, simple-conv, deep-conv, got 'lenet'");
    expect(netDefaults('mlp')).toEqual({});
    expect(netDefaults('simple-conv')).toEqual({ optimizer: 'adam', lr: 0.001 });
    // A checkpoint from before the setting existed trains the MLP it was.
    expect(validRunSettings({ hidden: [50] }).net).toBe('mlp');
  });

  it('createNet builds the net each setting names', () => {
    const cpu = new CpuBackend('f64');
    const names = (net: NetKind) => createNet(cpu, { ...RUN_DEFAULTS, net }).layers.map((l) => l.name);
    expect(names('mlp')).toEqual(['Affine1', 'Relu1', 'Affine2']);
    // Conv → Relu → Pool runs as one fused layer; bookLayers lists the book's.
    expect(names('simple-conv')).toEqual(['Conv1-Relu1-Pool1', 'Affine1', 'Relu2', 'Affine2']);
    const book = (net: NetKind) => bookLayers(createNet(cpu, { ...RUN_DEFAULTS, net }).layers).map((l) => l.name);
    expect(book('simple-conv')).toEqual(['Conv1', 'Relu1', 'Pool1', 'Affine1', 'Relu2', 'Affine2']);
    expect(names('deep-conv').filter((n) => n.startsWith('Conv'))).toEqual(['Conv1', 'Conv2-Relu2-Pool1', 'Conv3', 'Conv4-Relu4-Pool2', 'Conv5', 'Conv6-Relu6-Pool3']);
    expect(book('deep-conv').filter((n) => n.startsWith('Conv'))).toHaveLength(6);
    expect(() => createNet(cpu, { ...RUN_DEFAULTS, net: 'simple-conv' }, [784])).toThrow(/a convnet needs images/);
  });
});

describe('npm start --net', () => {
  it('trains a convnet with the book\'s Adam lr 0.001 unless told otherwise, and refuses the MLP\'s flags for it', () => {
    const s = parseCliSettings(['--net', 'simple-conv']);
    expect(s !== 'help' && [s.net, s.optimizer, s.lr]).toEqual(['simple-conv', 'adam', 0.001]);
    const sgd = parseCliSettings(['--net', 'simple-conv', '--optimizer', 'sgd', '--lr', '0.05']);
    expect(sgd !== 'help' && [sgd.optimizer, sgd.lr]).toEqual(['sgd', 0.05]);
    expect(() => parseCliSettings(['--net', 'simple-conv', '--hidden', '100'])).toThrow(new UsageError('--hidden shapes the MLP only; --net simple-conv is built as the book builds it'));
    expect(() => parseCliSettings(['--net', 'deep-conv', '--batch-norm'])).toThrow(/--batch-norm shapes the MLP only/);
    expect(() => parseCliSettings(['--net', 'cnn'])).toThrow("--net must be one of mlp, simple-conv, deep-conv, got 'cnn'");
  });
});

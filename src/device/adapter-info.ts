/** What we tell the user about the adapter a run uses. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasterizer posing as a GPU (SwiftShader, lavapipe): slow, and barriers cost a lot. */
  software: boolean;
  /** Where it came from: 'navigator.gpu', 'dawn (system Vulkan)', 'dawn (SwiftShader ICD)', ... */
  source: string;
  /** Drivers that discovery looked at and passed over, with why; shown by the CLIs' --verbose. */
  skipped: readonly string[];
}

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render/i;

/**
 * What we tell the user about an adapter: its names, whether it is software, where it came from.
 */
export function describeAdapter(adapter: GPUAdapter, source: string, skipped: readonly string[] = []): AdapterDescription {
  const info = adapter.info;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  // `isFallbackAdapter` is not reported by every implementation (Dawn in Node leaves it out),
  // so the adapter's own names are the reliable signal.
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: fallback || SOFTWARE_NAMES.test(text),
    source,
    skipped,
  };
}

/**
 * One line for logs and the page: 'vendor / architecture / description (software, via source)'.
 */
export function adapterLabel(a: AdapterDescription): string {
  const name = [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ');
  return `${name} (${a.software ? 'software' : 'hardware'}, via ${a.source})`;
}

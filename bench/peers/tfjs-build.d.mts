import type { BuildOptions } from 'esbuild';
export declare const TFJS_ENTRY: string;
export declare function tfjsBuildOptions(outfile: string): BuildOptions;

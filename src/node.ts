/**
 * mamba-tfjs for Node.js: everything of the core entry (./index.ts) plus the file-system side — the `file://`
 * save/load handler, HuggingFace checkpoints (loadCheckpoint, convert, export-hf), the streaming model loader and
 * the tokenizer from tokenizer.json — and a backend loader that requires optional backend packages on demand.
 * Package `exports` give Node this entry (`require('mamba-tfjs')`, `import … from 'mamba-tfjs'`) and bundlers the
 * core; it is also reachable as 'mamba-tfjs/node'.
 */
import { setupNode } from './node/setup';

export * from './index';
export { nodeBackends } from './node/backends';
export { setupNode } from './node/setup';
export { fileSystem, registerFileSystemHandler } from './io/tfjs/fsHandler';
export { loadCheckpoint } from './io/hf/loadCheckpoint';
export { convertCheckpoint } from './io/hf/convert';
export type { ConvertOptions, ConvertResult, ConvertDtype } from './io/hf/convert';
export { exportHf } from './io/hf/exportHf';
export type { ExportHfOptions, ExportHfResult } from './io/hf/exportHf';
export { loadModel, loadTfjsModelStreaming, modelDirKind } from './io/loadModel';
export type { ModelDirKind } from './io/loadModel';
export { loadTokenizer } from './io/tokenizer/tokenizer';
export type { MambaTokenizer } from './io/tokenizer/tokenizer';

setupNode();

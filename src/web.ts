/**
 * Browser entry for loaders that reach an I/O package (here `@huggingface/tokenizers`): the core entry
 * (src/index.ts) stays tfjs-only, so the URL tokenizer loader is exported from here.
 */
export { loadTokenizerFromUrl } from './io/web/tokenizerFromUrl';

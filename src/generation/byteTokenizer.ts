/**
 * The byte-level "tokenizer" of models trained by `mamba-tfjs train --task text`: token id = byte value
 * (0..255) of the UTF-8 text, and the descriptor saved with such a model (in model.json's userDefinedMetadata)
 * so that `mamba-tfjs generate` knows how to turn its ids into text.
 */
import type { MambaTokenizer } from '../io/tokenizer/tokenizer';

/** What a model needs to be sampled as text, saved under userDefinedMetadata.tokenizer in model.json. */
export interface TokenizerDescriptor {
  /** 'bytes': ids are UTF-8 bytes. ('tokenizer.json' models carry no descriptor: the file is beside them.) */
  kind: 'bytes';
  /** Number of ids (256). */
  vocabSize: number;
}

const UTF8 = new TextEncoder();

/** The descriptor of byte-level models. */
export const BYTES_DESCRIPTOR: TokenizerDescriptor = { kind: 'bytes', vocabSize: 256 };

/** Ids are the bytes of the UTF-8 encoding; decoding replaces invalid sequences with U+FFFD. */
export class ByteTokenizer implements MambaTokenizer {
  readonly vocabSize = 256;
  readonly eosTokenId = null;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new Error(`ByteTokenizer.encode: expected a string, got ${typeof text}`);
    return Array.from(UTF8.encode(text));
  }

  /** Text of the bytes `ids`; ids of 256 and above (a model's padding rows) decode to nothing. */
  decode(ids: number[]): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`ByteTokenizer.decode: expected non-negative integer ids, got ${String(id)}`);
      if (id < 256) bytes[n++] = id;
    }
    return this.decoder.decode(bytes.subarray(0, n));
  }
}

/**
 * The descriptor in a model.json's userDefinedMetadata, or null when it has none.
 * @throws Error naming the file for a descriptor of an unknown kind
 */
export function tokenizerDescriptor(metadata: unknown, file: string): TokenizerDescriptor | null {
  const t = (metadata as { tokenizer?: unknown } | null | undefined)?.tokenizer;
  if (t == null) return null;
  const kind = (t as { kind?: unknown }).kind;
  if (kind !== 'bytes') throw new Error(`${file}: expected userDefinedMetadata.tokenizer.kind "bytes", got ${JSON.stringify(kind)}`);
  return BYTES_DESCRIPTOR;
}

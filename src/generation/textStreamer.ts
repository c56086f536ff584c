/**
 * Incremental detokenization for streaming: after each new token, the text to print.
 *
 * A token need not end on a character boundary (byte-level BPE splits multi-byte UTF-8 characters across
 * tokens), and some decoders depend on the left context (SentencePiece drops the space of the first token).
 * So the streamer decodes a small window of recent tokens — a few already printed ones as context, then the new
 * ones — and prints the window's new text, holding back its last few U+FFFD replacement characters (an
 * incomplete character: a UTF-8 decoder gives one U+FFFD for it, a byte-wise one at most 3) until the next token
 * completes them. Earlier U+FFFDs are invalid bytes that no later token can change, so they are printed.
 *
 * The window slides forward every {@link SLIDE_AT} tokens, keeping {@link CONTEXT} tokens, at a token boundary
 * where decoding the window in two parts gives the same text as decoding it whole. Each token therefore costs a
 * decode of at most ~SLIDE_AT + CONTEXT tokens: linear in the length of the stream, where re-decoding the whole
 * sequence every token was quadratic (30 000 tokens: minutes).
 */

/** The part of a tokenizer the streamer needs. */
export interface Detokenizer {
  decode(ids: number[]): string;
}

const REPLACEMENT = '\uFFFD';
/** Trailing U+FFFDs held back at most: an incomplete UTF-8 character is at most 3 bytes. */
const MAX_HELD = 3;
/** Tokens of already printed text kept as decoding context when the window slides. */
const CONTEXT = 8;
/** The window slides once it holds this many tokens. */
const SLIDE_AT = 32;

/** Turns token ids into text incrementally (for streaming generation): push ids, get back the newly printable text. */
export class TextStreamer {
  /** Every token id (the prompt's, then the generated ones). */
  private readonly ids: number[];
  /** First token of the decoding window. */
  private start: number;
  /** Characters of the window's decoded text already printed (or belonging to the prompt). */
  private printed: number;
  /** The generated text printed so far. */
  private out = '';

  /** @param promptIds the prompt's ids: context for decoding, never printed */
  constructor(private readonly tokenizer: Detokenizer, promptIds: number[] = []) {
    this.ids = [...promptIds];
    this.start = Math.max(0, this.ids.length - CONTEXT);
    const prompt = this.decodeWindow();
    this.printed = prompt.length - heldBack(prompt); // an incomplete last character is completed by the new tokens
  }

  /** The text generated so far (everything after the prompt), including any incomplete tail. */
  get text(): string {
    return this.out + this.decodeWindow().slice(this.printed);
  }

  /** Add tokens; returns the newly complete text (possibly ''). */
  push(...ids: number[]): string {
    for (const id of ids) this.ids.push(id);
    const full = this.decodeWindow();
    const end = full.length - heldBack(full);
    let piece = '';
    if (end > this.printed) {
      piece = full.slice(this.printed, end);
      this.printed = end;
      this.out += piece;
    }
    if (this.ids.length - this.start >= SLIDE_AT) this.slide(full);
    return piece;
  }

  /** Whatever is still held back (an incomplete character at the very end, as U+FFFD). */
  flush(): string {
    const full = this.decodeWindow();
    const rest = full.slice(this.printed);
    this.printed = full.length;
    this.out += rest;
    return rest;
  }

  /** The decoded text of the window. */
  private decodeWindow(): string {
    return this.tokenizer.decode(this.ids.slice(this.start));
  }

  /**
   * Moves the window's start to a later token p, keeping CONTEXT tokens, where p is a boundary: the window's
   * text up to p is a prefix of its whole text (no character is split at p), and decoding from p gives the same
   * unprinted tail. Tries a few p; when none fits (a decoder that is not prefix-stable) the window stays.
   * @param full the window's current text
   */
  private slide(full: string): void {
    const tail = full.slice(this.printed);
    const end = this.ids.length;
    for (let p = end - CONTEXT; p > this.start && p >= end - 2 * CONTEXT; p--) {
      const before = this.tokenizer.decode(this.ids.slice(this.start, p));
      if (!full.startsWith(before) || before.length > this.printed) continue;
      const after = this.tokenizer.decode(this.ids.slice(p));
      if (!after.endsWith(tail)) continue;
      this.start = p;
      this.printed = after.length - tail.length;
      return;
    }
  }
}

/** Trailing U+FFFDs of `text` to hold back: the run at its end, at most MAX_HELD. */
function heldBack(text: string): number {
  let n = 0;
  while (n < MAX_HELD && n < text.length && text[text.length - 1 - n] === REPLACEMENT) n++;
  return n;
}

/**
 * Incremental detokenization for streaming: after each new token, the text to print.
 *
 * A token need not end on a character boundary (byte-level BPE splits multi-byte UTF-8 characters across
 * tokens), so the streamer decodes the whole sequence each time and prints only the new suffix, holding back
 * trailing U+FFFD replacement characters (an incomplete character) until the next token completes them.
 * The prompt is decoded with the sequence, so tokenizers whose decoding depends on the left context (a
 * leading space) print the same text as decoding everything at once.
 */

/** The part of a tokenizer the streamer needs. */
export interface Detokenizer {
  decode(ids: number[]): string;
}

const REPLACEMENT = '\uFFFD';

export class TextStreamer {
  private readonly ids: number[];
  private readonly promptText: string;
  /** Characters of the generated text already returned. */
  private printed = 0;

  /** @param promptIds the prompt's ids: context for decoding, never printed */
  constructor(private readonly tokenizer: Detokenizer, promptIds: number[] = []) {
    this.ids = [...promptIds];
    this.promptText = tokenizer.decode(this.ids);
  }

  /** The text generated so far (everything after the prompt), including any incomplete tail. */
  get text(): string {
    const full = this.tokenizer.decode(this.ids);
    return full.startsWith(this.promptText) ? full.slice(this.promptText.length) : full.slice(commonPrefix(full, this.promptText));
  }

  /** Add tokens; returns the newly complete text (possibly ''). */
  push(...ids: number[]): string {
    this.ids.push(...ids);
    const text = this.text;
    let end = text.length;
    while (end > this.printed && text[end - 1] === REPLACEMENT) end--;
    if (end <= this.printed) return '';
    const out = text.slice(this.printed, end);
    this.printed = end;
    return out;
  }

  /** Whatever is still held back (an incomplete character at the very end, as U+FFFD). */
  flush(): string {
    const text = this.text;
    const out = text.slice(this.printed);
    this.printed = text.length;
    return out;
  }
}

/** Length of the common prefix of two strings. */
function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

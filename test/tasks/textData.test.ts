import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../../src/tasks/rng';
import { TextDataTask } from '../../src/tasks/textData';

describe('TextDataTask', () => {
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));

  it('makes next-byte windows from the train split, all positions scored', () => {
    const task = new TextDataTask(bytes, { seqLen: 16 });
    expect(task.vocabSize).toBe(256);
    const b = task.sample(new Rng(1), 8);
    const { train } = task.sizes;
    const trainText = text.slice(0, train);
    for (let s = 0; s < 8; s++) {
      const x = Buffer.from(b.x.subarray(s * 16, s * 16 + 16)).toString('latin1');
      const y = Buffer.from(b.y.subarray(s * 16, s * 16 + 16)).toString('latin1');
      expect(x.slice(1)).toBe(y.slice(0, 15));
      expect(trainText.includes(x + y[15])).toBe(true);
    }
    expect(Array.from(b.mask).every((m) => m === 1)).toBe(true);
  });

  it('draws validation windows from the held-out tail', () => {
    const task = new TextDataTask(bytes, { seqLen: 8, valFraction: 0.25 });
    const { train, val } = task.sizes;
    expect(train + val).toBe(bytes.length);
    const tail = text.slice(train);
    const b = task.sample(new Rng(2), 5, { split: 'val' });
    for (let s = 0; s < 5; s++) {
      const x = Buffer.from(b.x.subarray(s * 8, s * 8 + 8)).toString('latin1');
      expect(tail.includes(x)).toBe(true);
    }
  });

  it('reads a file and is deterministic given the seed', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'textdata-')), 'corpus.txt');
    fs.writeFileSync(file, text);
    const task = TextDataTask.fromFile(file, { seqLen: 10 });
    expect(Array.from(task.sample(new Rng(3), 4).x)).toEqual(Array.from(task.sample(new Rng(3), 4).x));
  });

  it('refuses a corpus too small for the window', () => {
    expect(() => new TextDataTask(bytes.subarray(0, 50), { seqLen: 16 })).toThrow(/expected at least 17 bytes in the validation split/);
  });
});

/**
 * Builds the training task named by the options.
 */
import { readRegularFileSync } from '../io/regularFile';
import { InductionHeadsTask } from '../tasks/inductionHeads';
import { SelectiveCopyingTask } from '../tasks/selectiveCopying';
import { TextDataTask } from '../tasks/textData';
import type { Task } from '../tasks/types';
import type { TrainOptions } from './trainOptions';
import { BYTES_DESCRIPTOR, type TokenizerDescriptor } from '../generation/byteTokenizer';

/** The task of a training run. */
export function buildTask(o: TrainOptions): Task {
  switch (o.task) {
    case 'selective-copying':
      return new SelectiveCopyingTask({ seqLen: o.seqLen, nData: o.nData, nDataVocab: o.vocab });
    case 'induction-heads':
      return new InductionHeadsTask({ seqLen: o.seqLen, nSymbols: o.vocab });
    case 'text':
      if (!o.data) throw new Error('--data: expected a text file for --task text, got none');
      // Regular files only (not /dev/zero or a FIFO), read whole: one Buffer holds at most 2 GiB.
      return new TextDataTask(new Uint8Array(readRegularFileSync(o.data, 'a text file for --data', 2 ** 31 - 1)), { seqLen: o.seqLen });
  }
}

/** One line describing the task, for the log. */
export function describeTask(o: TrainOptions, task: Task): string {
  switch (o.task) {
    case 'selective-copying':
      return `selective copying: ${o.nData} data tokens from ${o.vocab} symbols in a context of ${o.seqLen}, T=${task.seqLen}, vocab ${task.vocabSize}`;
    case 'induction-heads':
      return `induction heads: T=${task.seqLen}, ${o.vocab} symbols + trigger`;
    case 'text': {
      const sizes = (task as TextDataTask).sizes;
      return `text: ${o.data} (${sizes.train} train bytes, ${sizes.val} val bytes), T=${task.seqLen}, byte vocab 256`;
    }
  }
}

/**
 * What model.json's userDefinedMetadata records for `mamba-tfjs generate`: the byte-level tokenizer of a text
 * run; nothing for the synthetic tasks (their ids are symbols, sampled with `generate --ids`).
 */
export function tokenizerMetadata(o: TrainOptions): { tokenizer: TokenizerDescriptor } | null {
  return o.task === 'text' ? { tokenizer: BYTES_DESCRIPTOR } : null;
}

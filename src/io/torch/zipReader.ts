/**
 * A yauzl RandomAccessReader over an open file that refuses reads outside the file.
 *
 * yauzl reads wherever the archive's records point (the zip64 end-of-central-directory offset, the central
 * directory offset, local header offsets). Through its default fd reader, a corrupt 64-bit offset reaches
 * `fs.read` as a position beyond 2^53, which throws a RangeError synchronously inside a callback: an uncaught
 * exception, and the open never settles. This reader checks every range against the file size first and
 * reports a bad one as an ordinary read error, which yauzl passes on to its caller.
 */
import { promises as fsp } from 'fs';
import { Readable } from 'stream';
import * as yauzl from 'yauzl';

/** Why [start, end) is not a readable range of a file of `size` bytes, or null when it is. */
export function badRange(start: number, end: number, size: number): string | null {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return `byte range [${start}, ${end}) is not a pair of exact integers`;
  if (start < 0 || end < start) return `byte range [${start}, ${end}) is empty or negative`;
  if (end > size) return `byte range [${start}, ${end}) lies beyond the end of the file (${size} bytes)`;
  return null;
}

/** A stream that fails with `message` as soon as it is read. */
function failingStream(message: string): Readable {
  return new Readable({
    read() {
      this.destroy(new Error(message));
    },
  });
}

/** Bytes per read of {@link rangeStream}. */
const STREAM_CHUNK = 64 * 1024;

/**
 * The bytes [start, end) of an open file as a stream, read with positioned reads. (fs.createReadStream on the
 * handle's fd would close the fd when yauzl destroys the stream.)
 */
function rangeStream(file: fsp.FileHandle, start: number, end: number): Readable {
  let pos = start;
  return new Readable({
    read() {
      if (pos >= end) {
        this.push(null);
        return;
      }
      const len = Math.min(end - pos, STREAM_CHUNK);
      const buf = Buffer.allocUnsafe(len);
      file.read(buf, 0, len, pos).then(
        ({ bytesRead }) => {
          if (bytesRead === 0) {
            this.destroy(new Error(`unexpected end of file at byte ${pos} (wanted ${end - pos} more bytes)`));
            return;
          }
          pos += bytesRead;
          this.push(bytesRead < len ? buf.subarray(0, bytesRead) : buf);
        },
        (e: Error) => this.destroy(e),
      );
    },
  });
}

/** Reads from an open FileHandle within [0, size); the caller keeps ownership of the handle. */
export class BoundedZipReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: fsp.FileHandle, private readonly size: number) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const bad = badRange(start, end, this.size);
    if (bad) return failingStream(`zip record points outside the file: ${bad}`);
    return rangeStream(this.file, start, end);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    const bad = badRange(position, position + length, this.size) ??
      (offset < 0 || offset + length > buffer.length ? `buffer range [${offset}, ${offset + length}) exceeds ${buffer.length} bytes` : null);
    if (bad) {
      setImmediate(() => callback(new Error(`zip record points outside the file: ${bad}`)));
      return;
    }
    this.file.read(buffer, offset, length, position).then(
      ({ bytesRead }) => setImmediate(() => callback(null, bytesRead)),
      (e: Error) => setImmediate(() => callback(e)),
    );
  }

  /** Nothing to release: the FileHandle belongs to the caller. */
  override close(callback: (err: Error | null) => void): void {
    setImmediate(() => callback(null));
  }
}

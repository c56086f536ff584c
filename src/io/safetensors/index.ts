/** The safetensors format: header parsing (./format.ts), the streaming reader (./read.ts), the writer (./write.ts). */
export * from './format';
export * from './read';
export * from './write';
export * from './halfFloat';

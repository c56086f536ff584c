/**
 * config.json with infinite floats: transformers 5's `{"__float__": "Infinity"}` and the bare `Infinity` token
 * of older writers both read as numbers; strings that merely contain the word stay strings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseConfigJson } from '../../src/io/hf/configJson';
import { parseCheckpointConfig } from '../../src/io/hf/config';
import { fixtureDir } from '../helpers/fixtures';

test('{"__float__": …} objects and bare Infinity / -Infinity / NaN become numbers', () => {
  const v = parseConfigJson('{"a": [0.0, {"__float__": "Infinity"}], "b": -Infinity, "c": [Infinity,NaN], "d": {"__float__": "-Infinity"}}') as Record<string, unknown>;
  expect(v.a).toEqual([0, Infinity]);
  expect(v.b).toBe(-Infinity);
  expect((v.c as number[])[0]).toBe(Infinity);
  expect(Number.isNaN((v.c as number[])[1])).toBe(true);
  expect(v.d).toBe(-Infinity);
});

test('strings are left alone, escapes included; other objects with __float__ stay objects', () => {
  const v = parseConfigJson('{"s": "Infinity and \\"NaN\\" -Infinity", "o": {"__float__": "x", "y": 1}, "p": {"__float__": "2.5"}}') as Record<string, unknown>;
  expect(v.s).toBe('Infinity and "NaN" -Infinity');
  expect(v.o).toEqual({ __float__: 'x', y: 1 });
  expect(v.p).toBe(2.5);
});

test('plain JSON parses as JSON.parse does; non-JSON is still an error', () => {
  const text = fs.readFileSync(path.join(fixtureDir('tiny-hf'), 'config.json'), 'utf8');
  expect(parseConfigJson(text)).toEqual(JSON.parse(text));
  expect(() => parseConfigJson('{"a": Infinit}')).toThrow();
  expect(() => parseCheckpointConfig('{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 3, "x": Inf}', 'c.json')).toThrow(/c.json: expected JSON/);
});

test('a Mamba config with time_step_limit in either spelling parses', () => {
  const base = fs.readFileSync(path.join(fixtureDir('tiny-hf'), 'config.json'), 'utf8').trim().replace(/}$/, '');
  for (const inf of ['{"__float__": "Infinity"}', 'Infinity']) {
    const { args } = parseCheckpointConfig(`${base}, "time_step_limit": [0.0, ${inf}]}`, 'config.json');
    expect(args.dModel).toBe(64);
  }
});

test('model_type other than mamba / falcon_mamba is named', () => {
  expect(() => parseCheckpointConfig('{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 3, "model_type": "jamba"}', 'c.json'))
    .toThrow(/c.json: expected model_type mamba or falcon_mamba, got "jamba"/);
});

/**
 * A tiny grid game for the world-model example: an agent on a 3×3 grid moves up, down, left or right; a move
 * into a wall leaves it where it is. The state is the agent's cell (0 … 8, row-major), the action one of 4.
 *
 *   cell = 3·row + col          0 1 2
 *                               3 4 5
 *                               6 7 8
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/tasks/rng';

/** Side of the grid. */
export const SIDE = 3;
/** Number of cells (states). */
export const CELLS = SIDE * SIDE;
/** Action names, by action id. */
export const ACTIONS = ['up', 'down', 'left', 'right'] as const;
/** Features of one step: the state one-hot (9) then the action one-hot (4). */
export const FEATURES = CELLS + ACTIONS.length;

/** (row, col) change of each action. */
const MOVES: ReadonlyArray<readonly [number, number]> = [[-1, 0], [1, 0], [0, -1], [0, 1]];

/** The cell after taking `action` in `cell` (walls stop the agent). */
export function nextCell(cell: number, action: number): number {
  const [dr, dc] = MOVES[action];
  const row = Math.min(SIDE - 1, Math.max(0, Math.floor(cell / SIDE) + dr));
  const col = Math.min(SIDE - 1, Math.max(0, (cell % SIDE) + dc));
  return row * SIDE + col;
}

/** Episodes of random play, row-major flat arrays. */
export interface Episodes {
  count: number;
  /** Steps per episode L. */
  length: number;
  /** Cells visited, (count, L + 1): the start, then the cell after each action. */
  cells: Int32Array;
  /** Actions taken, (count, L). */
  actions: Int32Array;
}

/** `count` episodes of `length` random actions from random start cells. */
export function play(rng: Rng, count: number, length: number): Episodes {
  const cells = new Int32Array(count * (length + 1));
  const actions = new Int32Array(count * length);
  for (let e = 0; e < count; e++) {
    let cell = rng.int(CELLS);
    cells[e * (length + 1)] = cell;
    for (let t = 0; t < length; t++) {
      const a = rng.int(ACTIONS.length);
      cell = nextCell(cell, a);
      actions[e * length + t] = a;
      cells[e * (length + 1) + t + 1] = cell;
    }
  }
  return { count, length, cells, actions };
}

/**
 * The model's inputs and targets: at step t the input is [onehot(state_t), onehot(action_t)] and the target
 * onehot(state_{t+1}).
 * @returns inputs (count, L, 13) and targets (count, L, 9); the caller disposes them
 */
export function toTensors(ep: Episodes): { inputs: tf.Tensor3D; targets: tf.Tensor3D } {
  const { count, length } = ep;
  const x = new Float32Array(count * length * FEATURES);
  const y = new Float32Array(count * length * CELLS);
  for (let e = 0; e < count; e++) {
    for (let t = 0; t < length; t++) {
      const i = e * length + t;
      x[i * FEATURES + ep.cells[e * (length + 1) + t]] = 1;
      x[i * FEATURES + CELLS + ep.actions[i]] = 1;
      y[i * CELLS + ep.cells[e * (length + 1) + t + 1]] = 1;
    }
  }
  return {
    inputs: tf.tensor3d(x, [count, length, FEATURES]), // (count, L, 13)
    targets: tf.tensor3d(y, [count, length, CELLS]), // (count, L, 9)
  };
}

/** The grid as three text rows, `@` marking the agent. */
export function drawGrid(cell: number): string[] {
  return Array.from({ length: SIDE }, (_, r) =>
    Array.from({ length: SIDE }, (_, c) => (r * SIDE + c === cell ? '@' : '·')).join(' '));
}

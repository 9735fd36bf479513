import { describe, expect, it } from 'vitest';
import { MinHeap } from './min-heap.js';
import { Prng } from './index.js';

describe('MinHeap', () => {
  it('pops in comparator order through random pushes and pops, ties broken as the comparator says', () => {
    const prng = new Prng(3);
    const heap = new MinHeap<{ at: number; seq: number }>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
    const model: { at: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 5000; step++) {
      if (prng.next() < 0.6) {
        const item = { at: Math.floor(prng.next() * 50), seq: seq++ };
        heap.push(item);
        model.push(item);
      } else {
        model.sort((a, b) => a.at - b.at || a.seq - b.seq);
        expect(heap.pop()).toBe(model.shift());
      }
      expect(heap.size).toBe(model.length);
      model.sort((a, b) => a.at - b.at || a.seq - b.seq);
      expect(heap.peek()).toBe(model[0]);
    }
    while (model.length > 0) expect(heap.pop()).toBe(model.shift());
    expect(heap.pop()).toBeUndefined();
  });
});

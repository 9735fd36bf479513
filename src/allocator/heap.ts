/** The heap moved to src/base; kept here so the allocator's imports stay short. */
export { MinHeap } from '../base/min-heap.js';

/** Foundations shared by every layer: time, ids, randomness, assertions, errors. No dependencies. */
export * from './assert.js';
export * from './clock.js';
export * from './duration.js';
export * from './errors.js';
export * from './ids.js';
export * from './prng.js';
export * from './min-heap.js';

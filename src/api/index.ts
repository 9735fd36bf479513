/** Wire messages of every agora API: types, lenient JSON decoding, RecordIO. No logic. */
export * from './agent-link.js';
export * from './agent-operator.js';
export * from './checks.js';
export * from './common.js';
export * from './container.js';
export * from './decode.js';
export * from './executor.js';
export * from './framework.js';
export * from './operator.js';
export * from './recordio.js';
export * from './resource.js';
export * from './scheduler.js';
export * from './task.js';
export * from './version.js';

/** The allocator: hierarchical DRF over the role tree, weights, quota, refuse filters, min-allocatable. Pure. */
export { Allocator, type Allocation, type AllocatorOptions, type FrameworkOptions } from './allocator.js';
export { DEFAULT_MIN_ALLOCATABLE, type MinAllocatable, parseMinAllocatable } from './allocatable.js';
export { MAX_REFUSE_SECONDS } from './filters.js';
export { type QuotaSpec, topLevelRole } from './quota.js';
export { DrfSorter, type Quantities, type Sorter } from './sorter.js';

/** Resources: the immutable value type over Mesos resources, roles, and attribute parsing. Pure. */
export { Resources } from './resources.js';
export { ResourcesInterner } from './interner.js';
export type { WireFormat } from './entry.js';
export { DEFAULT_ROLE, isAncestorRole, parentRole, validateRole } from './roles.js';
export { KNOWN_RESOURCE_NAMES, suggestResourceName } from './parse.js';
export { attributesSummary, parseAttributes } from './attributes.js';

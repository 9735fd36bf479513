/**
 * Role names (facts 6.3): validity and the role tree. "*" is the default, unreserved role;
 * other roles are paths like "eng/ml" whose ancestors are "eng".
 */

export const DEFAULT_ROLE = '*';

// Mesos rejects whitespace and backspace anywhere in a role name.
const FORBIDDEN_CHAR = /[\s\u0008]/;

/** undefined when `name` is a valid role; otherwise a text naming the problem and the fix. */
export function validateRole(name: string): string | undefined {
  const bad = (why: string): string => `role "${name}" is invalid: ${why}`;
  if (name === DEFAULT_ROLE) return undefined;
  if (name === '') return bad('it must not be empty (use "*" for the default role)');
  if (FORBIDDEN_CHAR.test(name)) return bad('it must not contain whitespace or backspace characters');
  if (name.startsWith('/')) return bad('it must not start with "/"');
  if (name.endsWith('/')) return bad('it must not end with "/"');
  if (name.includes('//')) return bad('it must not contain "//"');
  for (const component of name.split('/')) {
    if (component === '.' || component === '..') return bad(`a path component must not be "${component}"`);
    if (component === '*') return bad('"*" is only valid as the whole role name');
    if (component.startsWith('-')) return bad(`a path component must not start with "-" ("${component}")`);
  }
  return undefined;
}

/** Whether `ancestor` is a strict ancestor of `role` in the role tree ("eng" of "eng/ml"). */
export function isAncestorRole(ancestor: string, role: string): boolean {
  // No concatenation: the allocator asks this for every (agent, role, reservation).
  return (
    ancestor !== DEFAULT_ROLE &&
    role.length > ancestor.length + 1 &&
    role.charCodeAt(ancestor.length) === 47 /* "/" */ &&
    role.startsWith(ancestor)
  );
}

/** "eng/ml/train" -> "eng/ml"; a top-level role has no parent. */
export function parentRole(role: string): string | undefined {
  const slash = role.lastIndexOf('/');
  return slash < 0 ? undefined : role.slice(0, slash);
}

import { describe, expect, it } from 'vitest';
import { isAncestorRole, parentRole, validateRole } from './roles.js';

describe('validateRole', () => {
  it.each(['*', 'eng', 'eng/ml', 'a/b/c', 'with-dash', 'x.y', 'a/b-c'])('accepts %j', (role) => {
    expect(validateRole(role)).toBeUndefined();
  });

  it.each([
    ['', 'must not be empty'],
    ['/eng', 'must not start with "/"'],
    ['eng/', 'must not end with "/"'],
    ['a//b', 'must not contain "//"'],
    ['a/./b', 'must not be "."'],
    ['..', 'must not be ".."'],
    ['a/*', '"*" is only valid as the whole role name'],
    ['-eng', 'must not start with "-"'],
    ['a/-b', 'must not start with "-"'],
    ['my role', 'whitespace'],
    ['tab\there', 'whitespace'],
    ['back\bspace', 'backspace'],
  ])('rejects %j (%s)', (role, why) => {
    const error = validateRole(role);
    expect(error).toContain(`role "${role}" is invalid`);
    expect(error).toContain(why);
  });
});

describe('role tree', () => {
  it('knows strict ancestors', () => {
    expect(isAncestorRole('eng', 'eng/ml')).toBe(true);
    expect(isAncestorRole('eng', 'eng/ml/train')).toBe(true);
    expect(isAncestorRole('eng', 'eng')).toBe(false);
    expect(isAncestorRole('eng', 'engineering')).toBe(false);
    expect(isAncestorRole('eng/ml', 'eng')).toBe(false);
    expect(isAncestorRole('*', 'eng')).toBe(false);
  });

  it('finds the parent', () => {
    expect(parentRole('eng/ml/train')).toBe('eng/ml');
    expect(parentRole('eng')).toBeUndefined();
  });
});

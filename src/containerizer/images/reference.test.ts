import { describe, expect, it } from 'vitest';
import { formatImageReference, isLoopbackRegistry, parseImageReference } from './reference.js';

describe('image references, parsed as Mesos and Docker do', () => {
  it.each([
    ['busybox', { repository: 'library/busybox', tag: 'latest' }],
    ['busybox:1.36', { repository: 'library/busybox', tag: '1.36' }],
    ['org/app', { repository: 'org/app', tag: 'latest' }],
    ['docker.io/busybox', { registry: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['127.0.0.1:5000/busybox:latest', { registry: '127.0.0.1:5000', repository: 'busybox', tag: 'latest' }],
    ['localhost/a/b:v2', { registry: 'localhost', repository: 'a/b', tag: 'v2' }],
    ['quay.io/org/app@sha256:' + 'a'.repeat(64), { registry: 'quay.io', repository: 'org/app', digest: 'sha256:' + 'a'.repeat(64) }],
    ['app:v1@sha256:' + 'b'.repeat(64), { repository: 'library/app', tag: 'v1', digest: 'sha256:' + 'b'.repeat(64) }],
    ['registry:5000/app', { registry: 'registry:5000', repository: 'app', tag: 'latest' }],
  ])('%s', (name, expected) => {
    expect(parseImageReference(name)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['busybox:', /tag ''/],
    ['busybox@sha256:abc', /digest/],
    ['a//b', /repository/],
    [' busybox', /spaces/],
  ])('refuses %j, saying why and how a good one looks', (name, why) => {
    expect(() => parseImageReference(name)).toThrow(why);
    expect(() => parseImageReference(name)).toThrow(/REPOSITORY\[:TAG\|@DIGEST\]/);
  });

  it('formats the canonical name the store keys images by', () => {
    expect(formatImageReference(parseImageReference('127.0.0.1:5000/busybox'))).toBe('127.0.0.1:5000/busybox:latest');
    expect(formatImageReference(parseImageReference('busybox'))).toBe('library/busybox:latest');
  });

  it('knows loopback registries (plain HTTP, as Docker treats them)', () => {
    expect(['127.0.0.1:5000', 'localhost:80', '[::1]:5000', 'localhost'].map(isLoopbackRegistry)).toEqual([true, true, true, true]);
    expect(['quay.io', '10.0.0.1:5000', 'registry-1.docker.io'].map(isLoopbackRegistry)).toEqual([false, false, false]);
  });
});

/**
 * Docker image references as Mesos parses them: `[REGISTRY_HOST[:PORT]/]REPOSITORY[:TAG|@DIGEST]`.
 * Pure: names in, parts out; which registry serves an image is decided by the caller.
 */

export interface ImageReference {
  /** `host[:port]` when the name starts with one; absent means the default registry. */
  registry?: string;
  /** `library/busybox`, `org/app`; for Docker Hub one-component names get `library/`. */
  repository: string;
  /** `latest` when neither a tag nor a digest is given. */
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Throws an Error whose message says what is wrong with `name` and how a good one looks. */
export function parseImageReference(name: string): ImageReference {
  const bad = (why: string): Error =>
    new Error(`'${name}' is not a Docker image reference (${why}); write [REGISTRY_HOST[:PORT]/]REPOSITORY[:TAG|@DIGEST], e.g. busybox:1.36`);
  if (name.trim() !== name || name === '') throw bad('empty or surrounded by spaces');

  let rest = name;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`digest '${digest}' is not algorithm:hex`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) throw bad('a sha256 digest has 64 lowercase hex digits');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag '${tag}' has characters other than letters, digits, '_', '.' and '-'`);
  }

  const components = rest.split('/');
  let registry: string | undefined;
  // As Docker and Mesos: the first component is a registry when it looks like a host.
  const first = components[0]!;
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    components.shift();
  }
  if (components.length === 0 || components.some((c) => !COMPONENT.test(c))) {
    throw bad(`repository '${components.join('/')}' must be lowercase letters, digits and separators`);
  }
  let repository = components.join('/');
  const hub = registry === undefined || DOCKER_HUB_ALIASES.has(registry);
  if (hub && components.length === 1) repository = `library/${repository}`;
  if (registry !== undefined && DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB_REGISTRY;

  return {
    ...(registry === undefined ? {} : { registry }),
    repository,
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : {}),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The manifest reference to ask a registry for: the digest when given, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** `registry/repository:tag@digest`, the canonical form used as the store's key and in messages. */
export function formatImageReference(ref: ImageReference): string {
  const base = `${ref.registry === undefined ? '' : `${ref.registry}/`}${ref.repository}`;
  return `${base}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Whether a registry host is this machine, which Docker and agora reach over plain HTTP. */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

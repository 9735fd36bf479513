/** HTTP shell pieces shared by master, agent and clients: server setup, v1 request rules, streams. */
export * from './client.js';
export * from './server.js';
export * from './stream.js';
export * from './v1-call.js';

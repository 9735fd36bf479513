/** HA masters on etcd: the election, one master's leader/standby life, and its role for the HTTP layer. */
export { CampaignAborted, type Leadership, campaign } from './contender.js';
export { HaMaster, type HaMasterDeps, type Term } from './ha-master.js';
export type { MasterRole } from './role.js';

/** The simulator: hollow agents and synthetic frameworks driving the real master core in virtual time. */
export { Simulation, SIM_MASTER_ID } from './simulation.js';
export type { SimHooks } from './simulation.js';
export { Scenario, parseScenario } from './scenario.js';
export type { ScenarioInput } from './scenario.js';
export { summarize } from './report.js';
export type { SimSummary } from './report.js';
export { HollowAgent } from './hollow-agent.js';
export type { AgentWire } from './hollow-agent.js';
export { SyntheticFramework } from './synthetic-framework.js';
export type { FrameworkWire } from './synthetic-framework.js';
export type { Timeline } from './sim-clock.js';

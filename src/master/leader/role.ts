/** What a master is doing now, as its HTTP layer needs to know: it serves only while leading. */
export type MasterRole =
  /** Loading the registry (elected, or started without HA): 503 "Master has not finished recovery". */
  | { kind: 'recovering' }
  | { kind: 'leading' }
  /** Another master leads (307 to it), or none does (503 "No leader elected"). */
  | { kind: 'standby'; leader: { hostname: string; port: number } | undefined };

/** Counters a running scanner exposes through `ScannerHandle.stats()`. */
export interface ScannerStats {
  /** inspected requests to AI hosts */
  calls: number;
  parsed: number;
  unparsed: number;
  blocked: number;
  redacted: number;
  alerted: number;
  /** events the tenant accepted */
  uploaded: number;
  /** events written to the on-disk spool while the tenant was unavailable */
  spooled: number;
  /** events lost: spool full (or unwritable), or an unreadable spool line */
  dropped: number;
  /** events the tenant refused on their own (400/413/422), kept in `<spool>/dead-letter/` */
  deadLettered: number;
  /** calls whose recorded text was cut to fit one upload (`…[higgs: N characters not recorded]` marks each cut) */
  truncated: number;
  uploadErrors: number;
  /** CONNECTs relayed as raw tunnels (not inspected) */
  tunnels: number;
  policyErrors: number;
  /** enforce-labelled calls let through because a rule could not be decided (its class fails open); each is recorded uninspected and alerted */
  failOpen: number;
  /** enforce-labelled calls denied because a rule could not be decided (its class fails closed) */
  failClosed: number;
}

export function newStats(): ScannerStats {
  return {
    calls: 0, parsed: 0, unparsed: 0, blocked: 0, redacted: 0, alerted: 0, uploaded: 0, spooled: 0, dropped: 0, deadLettered: 0, truncated: 0, uploadErrors: 0,
    tunnels: 0, policyErrors: 0, failOpen: 0, failClosed: 0,
  };
}

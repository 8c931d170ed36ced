export {
  type ClaimCheckOptions,
  type ClaimCheckSerde,
  claimCheckSerde,
  DEFAULT_THRESHOLD_BYTES,
} from './claim-check-serde.ts';
export {
  type ClaimCheckCleanupOptions,
  type ClaimCheckCleanupReport,
  cleanupClaims,
  DEFAULT_GRACE_MS,
} from './cleanup.ts';
export {
  type ClaimCheckMode,
  KEY_BACKED_HEADER,
  VALUE_BACKED_HEADER,
} from './wire-format.ts';

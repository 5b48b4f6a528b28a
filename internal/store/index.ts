/**
 * The store: the only package that talks SQL. Repository functions are named noun-first and take a `Db` (the store
 * or a transaction) first; driver errors leave as StoreError.
 */
export { type Db, type DialectName, type OpenStoreOptions, type Store, openStore } from './database.js';
export { StoreError, type StoreErrorCode, isStoreError, isStoreOutage, isStoreOutageConfirmed } from './errors.js';
export { DEFAULT_MAX_OUTPUT_BYTES, capJsonValue, capText } from './output-cap.js';
export { StoreMigrator, type MigrationStatus, findMigrationsDir } from './migrator.js';
export { retryOnBusy, withTransaction } from './transaction.js';
export * from './task-repo.js';
export * from './run-repo.js';
export * from './dead-letter-repo.js';
export { catchUpSlot, firstSlotAfter, isComputableCron, jitterOffsetMs, nextSlot } from './slots.js';
export { decodeCursor } from './mappers.js';
export { dbTimeNow } from './db-time.js';
export type * from './types.js';
export * from './slot-claim.js';
export * from './slot-complete.js';
export * from './slot-recovery.js';

export * from './slot-queue.js';
export { slotPutBack } from './slot-put-back.js';
export { type HostLimits, type HostPermitVerdict, hostPermitAcquire, hostPermitRelease, hostPermitRenew } from './host-permit-repo.js';
export * from './stats-repo.js';
export * from './run-stats-repo.js';
export * from './notification-repo.js';
export * from './memory-repo.js';
export { type RetainedTable, retentionDeleteBefore } from './retention.js';
export * from './channel-repo.js';
export { type AlertPolicy, type AlertState, type AlertStep, type AlertSummary, alertPolicyOf, alertStep } from './alert-state.js';

import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { HandlerRegistry } from '../handlers/index.js';
import { Backoff, type BackoffPolicy } from '../platform/backoff.js';
import type { Clock } from '../platform/clock.js';
import { errorMessage } from '../platform/errors.js';
import { delay } from '../platform/lifecycle.js';
import type { Metrics, RunOutcome } from '../platform/metrics.js';
import { TimeoutError } from '../platform/timeout.js';
import {
  type AttemptResult,
  type CompletionRequest,
  type JsonObject,
  type SlotCompletion,
  type SlotEffects,
  type Store,
  catchUpSlot,
  isStoreError,
  isStoreOutage,
  isStoreOutageConfirmed,
  leaseRelease,
  slotPutBack,
} from '../store/index.js';
import type { HostGate, HostPermit } from './host-gate.js';
import type { Job } from './job.js';
import { effectsOf } from './run-effects.js';
import { RunRecorder, type RunRecorderConfig, type RunStarted } from './run-recorder.js';
import { type JobRunner, LeaseLostError } from './worker-pool.js';

export interface RunExecutorDeps {
  store: Store;
  registry: HandlerRegistry;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Politeness per host; without it no run is held back. */
  hostGate?: HostGate | undefined;
}

export interface RunExecutorConfig extends RunRecorderConfig {
  /** Tries of an outcome while the store is out of reach before the lease is given up. Default {@link RECORD_MAX_TRIES}. */
  maxRecordTries?: number;
  /** Waits between those tries. Default {@link RECORD_RETRY_BACKOFF}. */
  recordBackoff?: BackoffPolicy;
}

/** Waits between tries of a run start the store could not take: 200 ms, doubling, up to 2 s. */
export const START_RETRY_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 2000, jitter: 'none' };
/** Waits between tries of an outcome the store could not take: 200 ms, doubling, up to 5 s. */
export const RECORD_RETRY_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 5000, jitter: 'none' };
/**
 * Tries of an outcome while the store is out of reach (about 35 s with {@link RECORD_RETRY_BACKOFF}) before the run
 * gives its lease up: it stops being renewed, expires, and recovery takes the slot. A lease is never kept alive
 * for a record that cannot be written.
 */
export const RECORD_MAX_TRIES = 10;

/**
 * Runs one claimed slot: records the attempt's start, runs the handler under the task's timeout, then records the
 * outcome and moves the slot on. While the store is unreachable the outcome is kept and retried; it is never
 * acknowledged before it is recorded.
 */
export class RunExecutor implements JobRunner {
  /** Starts and outcomes of concurrent runs are written together, a batch per round trip. */
  private readonly recorder: RunRecorder;

  constructor(
    private readonly deps: RunExecutorDeps,
    private readonly config: RunExecutorConfig,
  ) {
    this.recorder = new RunRecorder(deps, config);
  }

  async execute(job: Job, poolSignal: AbortSignal, abandoned: AbortSignal, handlerDone: () => void = () => {}): Promise<void> {
    const admission = await this.admit(job);
    if (admission === undefined) return;
    try {
      await this.executeAdmitted(job, poolSignal, abandoned, admission.heldBack, handlerDone);
    } finally {
      await admission.permit?.release();
    }
  }

  /**
   * Before an attempt starts: a slot its catch-up policy moves is put back at the slot it picks, and a run whose
   * host has its fill of requests is put back until there is room (outside the pool, its attempt unused). Either
   * way the slot is given back (and its entry acknowledged: the row is due again), and this resolves undefined.
   * Otherwise resolves with the host permit the run holds, if any, and how long it was held back.
   */
  private async admit(job: Job): Promise<{ permit?: HostPermit; heldBack?: { host: string; waitedMs: number } } | undefined> {
    const { claim } = job;
    const { task } = claim;
    const fresh = claim.attempt === 1 && (claim.source === 'periodic' || claim.source === 'poll' || claim.source === 'api' || claim.source === 'direct');
    const now = new Date(this.deps.clock.now());
    if (fresh) {
      const slot = catchUpSlot(task.schedule, claim.slot, now, task.id);
      if (slot.getTime() !== claim.slot.getTime()) {
        this.deps.logger.info({ taskId: task.id, missed: claim.slot.toISOString(), next: slot.toISOString(), policy: task.schedule.catchUp ?? 'collapse' }, 'missed slots caught up');
        await this.putBack(job, { runAfter: slot, nextRunAt: slot });
        return undefined;
      }
    }
    const gate = this.deps.hostGate;
    const type = this.deps.registry.get(task.type);
    if (gate === undefined || type?.target === undefined) return {};
    const check = this.deps.registry.checkPayload(task.type, task.payload);
    const target = check.ok ? type.target(check.payload as never) : undefined;
    if (target === undefined) return {};
    const admission = await gate.admit(target);
    // Held back before (for this slot) when its start was pushed past the slot without a retry.
    const wasHeld = claim.attempt === 1 && task.runAfter.getTime() > claim.slot.getTime();
    if (admission.ok) {
      return wasHeld
        ? { permit: admission.permit, heldBack: { host: target.host, waitedMs: Math.max(0, now.getTime() - claim.slot.getTime()) } }
        : { permit: admission.permit };
    }
    if (!wasHeld) this.deps.metrics.hostHeldBack.inc({ host: target.host, kind: 'run' });
    const wait = heldBackWait(admission.retryInMs, now.getTime() - claim.slot.getTime());
    this.deps.logger.debug({ taskId: task.id, host: target.host, reason: admission.reason, retryInMs: wait }, 'run held back by its host limit');
    await this.putBack(job, { runAfter: new Date(Math.max(now.getTime() + wait, claim.slot.getTime() + 1)) });
    return undefined;
  }

  /** Gives the claim back (see `slotPutBack`) and acknowledges its entry; a failure leaves it to its lease. */
  private async putBack(job: Job, at: { runAfter: Date; nextRunAt?: Date }): Promise<void> {
    try {
      await slotPutBack(this.deps.store, { taskId: job.claim.task.id, leaseToken: job.claim.leaseToken, ...at });
      await job.onRecorded?.();
    } catch (err) {
      this.deps.logger.warn({ err, taskId: job.claim.task.id }, 'could not give a slot back; its lease expires and recovery frees it');
    }
  }

  private async executeAdmitted(
    job: Job,
    poolSignal: AbortSignal,
    abandoned: AbortSignal,
    heldBack: { host: string; waitedMs: number } | undefined,
    handlerDone: () => void,
  ): Promise<void> {
    const { claim } = job;
    const { task } = claim;
    const started = await this.begin(job, poolSignal);
    if (started === 'failed') return;
    if (started === undefined) {
      // Not ours to run: the lease ran out while the claim waited (or was taken over), the task was paused or
      // deleted meanwhile, or the run was aborted before it began. A lease still held is given back, so that a
      // paused task's slot waits for it to resume instead of for recovery; one whose attempt did start stays.
      this.deps.logger.warn({ taskId: task.id }, 'lease lost, or task no longer running, before the run started; not running it');
      await leaseRelease(this.deps.store, { claims: [claim] }).catch((err: unknown) =>
        this.deps.logger.warn({ err, taskId: task.id }, 'could not give back an unstarted claim; it expires'),
      );
      return;
    }
    const { runId, startedAt, memory } = started;
    if (claim.attempt === 1) {
      this.deps.metrics.scheduleLateness.observe(Math.max(0, startedAt.getTime() - claim.slot.getTime()) / 1000);
    }

    const { result, effects } = await this.runHandler(job, startedAt, memory, poolSignal);
    // The handler is done; its worker may start the next run while this one is recorded.
    handlerDone();
    if (heldBack !== undefined && isPlainObject(result.output)) {
      // The run's own record of its wait for the host (its lateness shows it too).
      result.output = { ...result.output, held_back: { host: heldBack.host, waited_ms: heldBack.waitedMs } };
    }
    if (poolSignal.reason instanceof LeaseLostError) {
      // Stopped because the lease was, or was about to be, lost: this is not an outcome of the slot. Record
      // nothing and acknowledge nothing; recovery marks the attempt and runs the slot again.
      this.deps.logger.warn({ taskId: task.id, reason: poolSignal.reason.message }, 'run stopped: lease lost; left for recovery');
      return;
    }
    const recorded = await this.record(job, runId, result, effects, abandoned);
    if (recorded === undefined) return;
    const { completion } = recorded;
    this.observe(task.type, recorded.result, completion);
    try {
      await job.onRecorded?.();
    } catch (err) {
      // The outcome is recorded; an unacknowledged entry is redelivered and found already done.
      this.deps.logger.warn({ err, taskId: task.id }, 'acknowledge failed after the run was recorded');
    }
  }

  /**
   * Records the start, trying again while the store is unreachable (the lease keeper ends the wait by aborting the
   * run if the lease cannot be kept). Resolves undefined when the attempt must not run, and 'failed' when the start
   * could not be recorded: without a run row the attempt must not start, and recovery frees the slot.
   */
  private async begin(job: Job, poolSignal: AbortSignal): Promise<RunStarted | undefined | 'failed'> {
    const { task } = job.claim;
    const backoff = new Backoff(START_RETRY_BACKOFF);
    while (!poolSignal.aborted) {
      try {
        return await this.recorder.start(job.claim);
      } catch (err) {
        if (!isStoreOutage(err)) {
          this.deps.logger.warn({ err, taskId: task.id }, 'could not record run start; left for recovery');
          return 'failed';
        }
        const wait = backoff.next();
        this.deps.logger.warn({ taskId: task.id, retryInMs: wait }, 'store unavailable; retrying run start');
        await delay(wait, poolSignal);
      }
    }
    return undefined;
  }

  private async runHandler(
    job: Job,
    startedAt: Date,
    stored: JsonObject | null,
    poolSignal: AbortSignal,
  ): Promise<{ result: AttemptResult; effects?: SlotEffects }> {
    const { task } = job.claim;
    const finish = (partial: Omit<AttemptResult, 'startedAt' | 'durationMs'>, effects?: SlotEffects) => ({
      result: { ...partial, startedAt, durationMs: Math.max(0, this.deps.clock.now() - startedAt.getTime()) },
      ...(effects === undefined ? {} : { effects }),
    });
    const type = this.deps.registry.get(task.type);
    if (type === undefined) {
      return finish({ status: 'failed', output: null, error: `unknown task type ${task.type}`, final: { reason: 'unknown_type' } });
    }
    const check = this.deps.registry.checkPayload(task.type, task.payload);
    if (!check.ok) {
      const detail = check.issues.map((i) => `${i.path || 'payload'}: ${i.message}`).join('; ');
      return finish({ status: 'failed', output: null, error: `invalid payload: ${detail}` });
    }

    // Read with the run's start; only a type that keeps a memory sees it.
    const memory = type.usesMemory === true ? stored : null;
    let remembered: JsonObject | undefined;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(`timed out after ${task.timeoutMs} ms`)), task.timeoutMs);
    const onPoolAbort = () => controller.abort(poolSignal.reason);
    poolSignal.addEventListener('abort', onPoolAbort, { once: true });
    try {
      const output = await Promise.race([
        type.run(check.payload, {
          signal: controller.signal,
          task: { id: task.id, name: task.name, type: task.type, timeoutMs: task.timeoutMs, attempt: job.claim.attempt, slot: job.claim.slot },
          logger: this.deps.logger.child({ taskId: task.id, type: task.type }),
          memory,
          remember: (value) => {
            remembered = value;
          },
        }),
        // A handler that ignores its signal still loses the race: the attempt ends at the timeout.
        new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        }),
      ]);
      // A memory the handler kept unchanged (the same body, the same items) is not written again: most checks of a
      // steady target change nothing, and the write would cost a statement per run.
      const changed = remembered !== undefined && !isDeepStrictEqual(remembered, memory) ? remembered : undefined;
      const effects = effectsOf({ output, remembered: changed });
      return finish({ status: 'succeeded', output: output ?? null, error: null }, effects);
    } catch (err) {
      const timedOut = controller.signal.reason instanceof TimeoutError;
      return finish({ status: timedOut ? 'timed_out' : 'failed', output: null, error: errorMessage(err) });
    } finally {
      clearTimeout(timer);
      poolSignal.removeEventListener('abort', onPoolAbort);
    }
  }

  /**
   * Records the outcome. While the store is out of reach (a ping on another connection fails too) it is tried again
   * with backoff, up to {@link RECORD_MAX_TRIES}. An outcome the database refuses (an oversized statement, a value
   * out of range) is recorded instead as a failed attempt saying why, so that the slot moves on like any failure and
   * its batch-mates are not held up. Gives up, leaving the slot to recovery once its lease expires, when even that
   * cannot be written, after the bounded tries, or when the pool abandons the job at the shutdown deadline.
   */
  private async record(
    job: Job,
    runId: number,
    result: AttemptResult,
    effects: SlotEffects | undefined,
    abandoned: AbortSignal,
  ): Promise<{ completion: SlotCompletion; result: AttemptResult } | undefined> {
    const taskId = job.claim.task.id;
    const backoff = new Backoff(this.config.recordBackoff ?? RECORD_RETRY_BACKOFF);
    const maxTries = this.config.maxRecordTries ?? RECORD_MAX_TRIES;
    let request: CompletionRequest = { claim: job.claim, runId, result, effects };
    let fellBack = false;
    let connectionErrors = 0;
    for (let tries = 1; ; tries += 1) {
      // Past the shutdown deadline: record nothing, so the slot is never marked done by a cut-short run.
      if (abandoned.aborted) return undefined;
      try {
        return { completion: await this.recorder.complete(request), result: request.result };
      } catch (err) {
        if (await isStoreOutageConfirmed(this.deps.store, err)) {
          if (tries >= maxTries) {
            this.deps.logger.error({ err, taskId, tries }, 'store unavailable; giving the lease up, recovery will take the slot');
            return undefined;
          }
          const wait = backoff.next();
          this.deps.logger.warn({ taskId, retryInMs: wait }, 'store unavailable; retrying record');
          // Wakes early only for the shutdown deadline, which stays unaborted until then: no busy loop.
          await delay(wait, abandoned);
          continue;
        }
        // The connection dropped but the database answers: once more at once, in case it was a pooled connection
        // the server had just closed; twice means the statement itself is what the server refuses.
        if (isStoreError(err, 'unavailable') && connectionErrors < 1) {
          connectionErrors += 1;
          continue;
        }
        if (fellBack) {
          this.deps.logger.error({ err, taskId }, 'recording the run failed; left for recovery');
          return undefined;
        }
        fellBack = true;
        const why = isStoreError(err, 'unavailable')
          ? `the database dropped the connection of this write while it answers others (a statement over its max_allowed_packet?): ${errorMessage(err, 500)}`
          : errorMessage(err, 1000);
        const error = `the outcome could not be recorded: ${why}`;
        this.deps.logger.error({ err, taskId }, 'the store refused the outcome; recording the attempt as failed');
        request = { claim: job.claim, runId, result: { ...result, status: 'failed', output: null, error }, effects: undefined };
      }
    }
  }

  private observe(type: string, result: AttemptResult, completion: SlotCompletion): void {
    const outcome: RunOutcome = completion.kind === 'lease_lost' ? 'lease_lost' : result.status;
    this.deps.metrics.runs.inc({ type, outcome });
    this.deps.metrics.runDuration.observe({ type }, result.durationMs / 1000);
    if (completion.kind === 'retry') this.deps.metrics.retries.inc({ type });
    if (completion.kind === 'lease_lost') {
      this.deps.logger.warn({ type }, 'lease lost before the run was recorded; recovery owns the slot');
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * How long a run held back by its host waits before it is offered again: what the limit says, or longer the
 * longer the run has waited already (an eighth of it, up to 2 s), so that many runs queued behind one host do not
 * keep claiming and giving back their slots; plus a random spread, so that they do not all come back at once.
 */
export function heldBackWait(retryInMs: number, waitedMs: number): number {
  const base = Math.max(retryInMs, Math.min(2000, Math.floor(Math.max(0, waitedMs) / 8)));
  return base + Math.floor(Math.random() * Math.min(500, base / 2 + 20));
}

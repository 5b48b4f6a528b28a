/**
 * Exit codes of the `vigil` command. Scripts branch on these, so they are part of its contract (README, "Exit
 * codes"); each failure maps to exactly one.
 */
export const EXIT = {
  /** Done. For `apply`, everything in the plan was applied (or the plan was only printed, with --dry-run). */
  ok: 0,
  /** The API refused or failed the request (4xx or 5xx other than those below), or an apply left work undone. */
  failed: 1,
  /** A bad command line, or a monitors file that is invalid (by its shape or by the server's checks); nothing changed. */
  usage: 2,
  /** The API could not be reached (connection refused, DNS, timeout). */
  unreachable: 3,
  /** The task, run or dead letter does not exist (404). */
  notFound: 4,
  /** The token is missing or wrong (401), or its scope does not allow the change (403). */
  denied: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The API's error body: `{"error":{"code","message","fields"}}`. */
export interface ApiErrorBody {
  code: string;
  message: string;
  fields?: Record<string, string> | undefined;
}

/** A failure the command reports on stderr and turns into its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Set when the API answered with an error; printed with its fields. */
    readonly api?: { status: number; error: ApiErrorBody },
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code for an HTTP error status. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 404) return EXIT.notFound;
  if (status === 401 || status === 403) return EXIT.denied;
  return EXIT.failed;
}

/** A usage error: the command line or an input file is wrong. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

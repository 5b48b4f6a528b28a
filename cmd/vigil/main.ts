#!/usr/bin/env node
/**
 * `vigil`: the command line of Vigil (the package's `bin`). It talks to a Vigil API over HTTP only, through a client
 * generated from `/openapi.json`; see `vigil --help`.
 */
import { runCli } from './cli.js';

// `vigil tasks ls | head` closes the pipe early; that is the reader's choice, not an error to print.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env);

import { describe, expect, it } from 'vitest';
import { expectHeadersSchema } from './checks-schema.js';
import { evaluateHeaders } from './header-checks.js';

const headers = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'set-cookie': ['a=1', 'b=2'],
};

const check = (expected: unknown) => evaluateHeaders(headers, expectHeadersSchema.parse(expected));

describe('evaluateHeaders', () => {
  it('passes exact values and patterns, with names in any case', () => {
    expect(check({ 'Cache-Control': 'no-store', 'content-type': { regex: '^application/json\\b' }, 'Set-Cookie': 'b=2' })).toEqual([]);
    expect(check({ 'CONTENT-TYPE': { regex: '^APPLICATION/JSON', flags: 'i' } })).toEqual([]);
  });

  it('names each missing or different header with what it was', () => {
    expect(check({ 'cache-control': 'no-cache', 'content-type': { regex: '^text/html' }, 'x-served-by': 'edge' })).toEqual([
      { name: 'cache-control', expected: 'no-cache', actual: 'no-store' },
      { name: 'content-type', expected: '/^text/html/', actual: 'application/json; charset=utf-8' },
      { name: 'x-served-by', expected: 'edge', actual: null },
    ]);
  });

  it('an exact value is not a prefix or a substring', () => {
    expect(check({ 'content-type': 'application/json' })).toEqual([
      { name: 'content-type', expected: 'application/json', actual: 'application/json; charset=utf-8' },
    ]);
  });

  it('refuses bad names, bad patterns and duplicate names at their own path', () => {
    const paths = (value: unknown) => expectHeadersSchema.safeParse(value).error?.issues.map((i) => i.path.join('.'));
    expect(paths({ 'bad name': 'x' })).toEqual(['bad name']);
    expect(paths({ 'x-a': { regex: '(' } })).toEqual(['x-a.regex']);
    expect(paths({ 'X-A': 'a', 'x-a': 'b' })).toEqual(['x-a']);
    expect(paths({ 'x-a': 5 })).toEqual(['x-a']);
  });
});

import { describe, expect, it } from 'vitest';
import { jsonPointerError, parseJsonPointer, resolveJsonPointer } from './json-pointer.js';

describe('JSON pointer', () => {
  const doc = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'm~n': 8,
    '~1': 'tilde-one',
    nested: { list: [{ id: 1 }, { id: 2 }] },
  };

  it('resolves the examples of RFC 6901 §5', () => {
    expect(resolveJsonPointer(doc, '')).toEqual({ found: true, value: doc });
    expect(resolveJsonPointer(doc, '/foo')).toEqual({ found: true, value: ['bar', 'baz'] });
    expect(resolveJsonPointer(doc, '/foo/0')).toEqual({ found: true, value: 'bar' });
    expect(resolveJsonPointer(doc, '/')).toEqual({ found: true, value: 0 });
    expect(resolveJsonPointer(doc, '/a~1b')).toEqual({ found: true, value: 1 });
    expect(resolveJsonPointer(doc, '/m~0n')).toEqual({ found: true, value: 8 });
  });

  it('unescapes ~1 before ~0, so ~01 is a literal ~1', () => {
    expect(parseJsonPointer('/~01')).toEqual(['~1']);
    expect(resolveJsonPointer(doc, '/~01')).toEqual({ found: true, value: 'tilde-one' });
  });

  it('walks nested arrays and objects', () => {
    expect(resolveJsonPointer(doc, '/nested/list/1/id')).toEqual({ found: true, value: 2 });
  });

  it('says where a pointer stops resolving', () => {
    expect(resolveJsonPointer(doc, '/nested/missing/x')).toEqual({ found: false, missingAt: '/nested/missing' });
    expect(resolveJsonPointer(doc, '/foo/2')).toEqual({ found: false, missingAt: '/foo/2' });
    expect(resolveJsonPointer(doc, '/foo/-')).toEqual({ found: false, missingAt: '/foo/-' });
    expect(resolveJsonPointer(doc, '/foo/01')).toEqual({ found: false, missingAt: '/foo/01' });
    expect(resolveJsonPointer(doc, '/foo/0/length')).toEqual({ found: false, missingAt: '/foo/0/length' });
  });

  it('finds only own properties, never the prototype chain', () => {
    expect(resolveJsonPointer({}, '/constructor').found).toBe(false);
    expect(resolveJsonPointer({}, '/__proto__').found).toBe(false);
    expect(resolveJsonPointer([], '/length').found).toBe(false);
  });

  it('rejects malformed pointers', () => {
    expect(jsonPointerError('')).toBeNull();
    expect(jsonPointerError('/a/b')).toBeNull();
    expect(jsonPointerError('abc')).toMatch(/starting with '\/'/);
    expect(jsonPointerError('/a~2b')).toMatch(/~0 or ~1/);
    expect(jsonPointerError('/a~')).toMatch(/~0 or ~1/);
    expect(() => parseJsonPointer('abc')).toThrow(SyntaxError);
    expect(() => resolveJsonPointer(doc, '/a~2')).toThrow(/invalid JSON pointer/);
  });
});

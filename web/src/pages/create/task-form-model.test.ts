import { describe, expect, it } from 'vitest';
import type { Task } from '../../api/client';
import { emptyHttpForm, fieldError, httpFormFromTask, httpFormToBody, parseExpectStatus, parseHeaders, unplacedErrors } from './task-form-model.js';

describe('the http task form', () => {
  it('builds a create body with every payload field', () => {
    const { body, problems } = httpFormToBody({
      ...emptyHttpForm(),
      name: 'shop',
      url: ' https://shop.example/api ',
      method: 'POST',
      headers: 'Accept: application/json\nX-Key: a:b',
      body: '{"q":1}',
      expectStatus: '200, 204',
      matchKind: 'regex',
      matchText: 'ok|fine',
      matchFlags: 'i',
      itemsPath: '/data/items',
      itemsId: 'id',
      maxBodyBytes: '2048',
      requestTimeoutMs: '5000',
      scheduleKind: 'cron',
      cron: '*/5 * * * *',
      tz: 'Asia/Tokyo',
      priority: '5',
      paused: true,
      webhookUrl: 'https://hooks.example/x',
      notifyOn: ['down', 'new_items'],
    });
    expect(problems).toEqual({});
    expect(body).toEqual({
      name: 'shop',
      type: 'http',
      payload: {
        url: 'https://shop.example/api',
        method: 'POST',
        headers: { Accept: 'application/json', 'X-Key': 'a:b' },
        body: '{"q":1}',
        expect_status: [200, 204],
        match: { regex: 'ok|fine', flags: 'i' },
        items: { path: '/data/items', id: 'id' },
        max_body_bytes: 2048,
        request_timeout_ms: 5000,
      },
      schedule: { cron: '*/5 * * * *', tz: 'Asia/Tokyo' },
      status: 'paused',
      priority: 5,
      timeout_ms: 30000,
      max_attempts: 3,
      notify: { webhook_url: 'https://hooks.example/x', on: ['down', 'new_items'] },
    });
  });

  it('sends what it cannot read as typed, so that the server names the field', () => {
    const { body } = httpFormToBody({ ...emptyHttpForm(), name: 'x', url: 'not a url', every: 'soon', expectStatus: 'ok' });
    expect(body.schedule).toEqual({ every: 'soon' });
    expect((body.payload as { expect_status: unknown }).expect_status).toBe('ok');
  });

  it('reports header lines without a colon before sending', () => {
    expect(httpFormToBody({ ...emptyHttpForm(), headers: 'Accept json' }).problems).toEqual({
      'payload.headers': 'line 1 must look like "Name: value"',
    });
    expect(parseHeaders('\n A: 1 \n')).toEqual({ A: '1' });
  });

  it('reads status ranges and lists', () => {
    expect(parseExpectStatus('200-399')).toEqual({ min: 200, max: 399 });
    expect(parseExpectStatus('200')).toEqual([200]);
    expect(parseExpectStatus('')).toBeUndefined();
  });

  it('fills the form back from a task, and builds the same payload again', () => {
    const task = {
      id: 1,
      name: 'feed',
      type: 'http',
      payload: { url: 'https://a.example/', method: 'GET', expect_status: { min: 200, max: 299 }, match: 'ok', max_body_bytes: 1024 },
      schedule: { every: 30 },
      priority: 3,
      timeout_ms: 10000,
      max_attempts: 2,
      status: 'running',
      notify: null,
    } as unknown as Task;
    const form = httpFormFromTask(task);
    expect(form).toMatchObject({ expectStatus: '200-299', matchKind: 'substring', matchText: 'ok', every: '30', maxAttempts: '2' });
    expect(httpFormToBody(form).body.payload).toEqual({
      url: 'https://a.example/',
      method: 'GET',
      expect_status: { min: 200, max: 299 },
      match: { substring: 'ok' },
      max_body_bytes: 1024,
    });
  });

  it('places API field errors on their fields, and the rest in the summary', () => {
    const fields = { 'payload.url': 'must be an absolute URL', 'payload.match.regex': 'is not valid', 'schedule.every': 'too small', type: 'unknown' };
    expect(fieldError(fields, 'payload.url')).toBe('must be an absolute URL');
    expect(fieldError(fields, 'payload.match')).toBe('is not valid');
    expect(fieldError(fields, 'schedule')).toBe('too small');
    expect(unplacedErrors(fields)).toEqual([['type', 'unknown']]);
  });
});

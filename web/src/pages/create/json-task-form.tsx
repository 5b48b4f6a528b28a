import { type FormEvent, useId, useState } from 'react';
import { FormActions } from './form-actions';

interface JsonTaskFormProps {
  /** The registered types, to start from a template of one. */
  types: readonly string[];
  initial: string;
  errors: Record<string, string>;
  failure: string | null;
  submitLabel: string;
  busy: boolean;
  /** Called with the parsed JSON object. */
  onSubmit(body: Record<string, unknown>): void;
  onCancel?(): void;
}

/** A starting point for a type: every required field of a create request, with a payload to fill in. */
export function taskTemplate(type: string): string {
  const payload = type === 'http' ? { url: 'https://example.com/health' } : {};
  return JSON.stringify({ name: `my ${type} task`, type, payload, schedule: { every: 60 } }, null, 2);
}

/**
 * The request body as JSON, for any registered type (their payload schemas live in the server). The server
 * validates it and names each bad field; they are listed under the editor.
 */
export function JsonTaskForm({ types, initial, errors, failure, submitLabel, busy, onSubmit, onCancel }: JsonTaskFormProps) {
  const id = useId();
  const [text, setText] = useState(initial);
  const [syntax, setSyntax] = useState<string | null>(null);
  const entries = Object.entries(errors);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      setSyntax(`This is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      setSyntax('The body must be a JSON object.');
      return;
    }
    setSyntax(null);
    onSubmit(parsed as Record<string, unknown>);
  };

  return (
    <form className="task-form" onSubmit={submit} noValidate aria-label={`${submitLabel} as JSON`}>
      {types.length > 0 && (
        <div className="row">
          <label htmlFor={`${id}-type`}>Start from a template</label>
          <select id={`${id}-type`} defaultValue="" onChange={(e) => e.target.value && setText(taskTemplate(e.target.value))}>
            <option value="">choose a type…</option>
            {types.map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </div>
      )}
      <label htmlFor={`${id}-json`}>Request body (JSON)</label>
      <textarea
        id={`${id}-json`}
        className="mono json-editor"
        rows={16}
        spellCheck={false}
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-invalid={syntax !== null || entries.length > 0 ? true : undefined}
        aria-describedby={`${id}-errors`}
      />
      <div id={`${id}-errors`} aria-live="polite">
        {syntax !== null && <p className="field-error">{syntax}</p>}
        {(failure !== null || entries.length > 0) && (
          <div className="notice bad" role="alert">
            <p>{failure ?? 'The server refused the task.'}</p>
            {entries.length > 0 && (
              <ul>
                {entries.map(([key, message]) => (
                  <li key={key}>
                    <code>{key}</code> {message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
      <FormActions submitLabel={submitLabel} busy={busy} onCancel={onCancel} />
    </form>
  );
}

import { errorMessage } from '../api/client';

/** Why a part of the page could not load; the query keeps retrying on its own interval. */
export function ErrorNotice({ error, what }: { error: unknown; what: string }) {
  return (
    <p className="notice bad" role="alert">
      Could not load {what}: {errorMessage(error)}
    </p>
  );
}

import { useEffect, useRef, useState } from 'react';
import type { TaskFilters as Filters } from '../../api/queries';
import { useServerInfo } from '../../api/server-info';

/** How long typing pauses before the search is sent. */
const SEARCH_DELAY_MS = 250;

/** Status, type and up/down filters, and a search by name. */
export function TaskFilters({ filters, onChange }: { filters: Filters; onChange(next: Filters): void }) {
  const { info } = useServerInfo();
  const [search, setSearch] = useState(filters.q ?? '');
  // The latest filters and callback, so that the delay restarts on typing only, not on every live refresh.
  const latest = useRef({ filters, onChange });
  latest.current = { filters, onChange };

  useEffect(() => {
    const q = search.trim();
    if (q === (latest.current.filters.q ?? '')) return;
    const timer = setTimeout(() => latest.current.onChange({ ...latest.current.filters, q: q || undefined }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);

  // A search changed from outside (a link to /tasks, the back button) shows in the box.
  useEffect(() => {
    setSearch((current) => (current.trim() === (filters.q ?? '') ? current : (filters.q ?? '')));
  }, [filters.q]);

  return (
    <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <label>
        Search by name
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name contains…" />
      </label>
      <label>
        Status
        <select
          value={filters.status ?? ''}
          onChange={(e) => onChange({ ...filters, status: (e.target.value || undefined) as Filters['status'] })}
        >
          <option value="">any</option>
          <option value="running">active</option>
          <option value="paused">paused</option>
        </select>
      </label>
      <label>
        Type
        <select value={filters.type ?? ''} onChange={(e) => onChange({ ...filters, type: e.target.value || undefined })}>
          <option value="">any</option>
          {info.types.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      <label>
        Up or down
        <select
          value={filters.up ?? ''}
          onChange={(e) => onChange({ ...filters, up: (e.target.value || undefined) as Filters['up'] })}
        >
          <option value="">any</option>
          <option value="true">up</option>
          <option value="false">down</option>
        </select>
      </label>
    </form>
  );
}

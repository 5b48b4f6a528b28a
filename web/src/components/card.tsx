import type { ReactNode } from 'react';

/** A titled block of a page. The title is a real heading, so that a screen reader can jump between blocks. */
export function Card({ title, actions, children, className }: { title: string; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`} aria-label={title}>
      <header className="card-header">
        <h2>{title}</h2>
        {actions !== undefined && <div className="card-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

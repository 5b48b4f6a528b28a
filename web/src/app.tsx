import { Suspense, lazy } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { ServerGate, useServerInfo } from './api/server-info';
import { ThemeToggle } from './components/theme-toggle';
import { OverviewPage } from './pages/overview/overview-page';
import { TasksPage } from './pages/tasks/tasks-page';

// The landing pages load with the app; the others when first opened.
const CreatePage = lazy(() => import('./pages/create/create-page').then((m) => ({ default: m.CreatePage })));
const QueuePage = lazy(() => import('./pages/queue/queue-page').then((m) => ({ default: m.QueuePage })));
const TaskDetailPage = lazy(() => import('./pages/task-detail/task-detail-page').then((m) => ({ default: m.TaskDetailPage })));

/** The whole dashboard: the server gate (token), then the frame and one page per route. */
export function App() {
  return (
    <ServerGate>
      <Frame />
    </ServerGate>
  );
}

function Frame() {
  const { readOnly, readOnlyBecause, info, signedIn, signOut } = useServerInfo();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Vigil overview">
          <img src="/ui/favicon.svg" alt="" width="22" height="22" />
          Vigil
        </Link>
        <nav aria-label="Main">
          <NavLink href="/">Overview</NavLink>
          <NavLink href="/tasks">Tasks</NavLink>
          <NavLink href="/queue">Queue</NavLink>
          {!readOnly && <NavLink href="/tasks/new">New task</NavLink>}
        </nav>
        <div className="topbar-end">
          <ThemeToggle />
          {signedIn && (
            <button type="button" className="link-button" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      {!info.auth.required && (
        <p className="banner warn" role="status">
          Open access: this server has no API tokens (APP_API_TOKENS is unset), so anyone who can reach it can read and
          change every task.
        </p>
      )}
      {readOnly && (
        <p className="banner info" role="status">
          {readOnlyBecause === 'token'
            ? 'Read-only: your token has the read scope, so you can look at everything, and change nothing.'
            : 'Read-only dashboard (APP_UI_READ_ONLY): you can look at everything, and change nothing.'}
        </p>
      )}
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="page muted">Loading…</p>}>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/tasks" component={TasksPage} />
          <Route path="/tasks/new">{readOnly ? <ReadOnlyPage /> : <CreatePage />}</Route>
          <Route path="/tasks/:id">{(params) => <TaskDetailPage id={Number(params.id)} />}</Route>
          <Route path="/queue" component={QueuePage} />
          <Route>
            <NotFoundPage />
          </Route>
        </Switch>
        </Suspense>
      </main>
      <footer className="footer">
        Vigil {info.version} · <a href="/openapi.json">API</a> · <a href="/metrics">metrics</a>
      </footer>
    </>
  );
}

function NavLink({ href, children }: { href: string; children: string }) {
  const [location] = useLocation();
  const current = href === '/' ? location === '/' : location === href || (href === '/tasks' && /^\/tasks\/\d+/.test(location));
  return (
    <Link href={href} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function NotFoundPage() {
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page here. Go to the <Link href="/">overview</Link>.
      </p>
    </div>
  );
}

function ReadOnlyPage() {
  return (
    <div className="page">
      <h1>Read-only</h1>
      <p>This dashboard is read-only (APP_UI_READ_ONLY), so it cannot create tasks.</p>
    </div>
  );
}

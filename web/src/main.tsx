import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { ApiRequestError } from './api/client';
import { App } from './app';
import { applyTheme } from './lib/theme';
import './styles.css';

applyTheme();

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (error) => {
      // A token revoked while the page is open: ask the server again, and the gate asks for a new one.
      if (error instanceof ApiRequestError && error.status === 401) void queryClient.invalidateQueries({ queryKey: ['info'] });
    },
  }),
  defaultOptions: {
    queries: {
      // Live pages poll; a failed poll is retried by the next one rather than three times in a row.
      retry: 1,
      staleTime: 1000,
      refetchOnWindowFocus: true,
    },
  },
});

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Router base="/ui">
        <App />
      </Router>
    </QueryClientProvider>
  </StrictMode>,
);

import { useSyncExternalStore } from 'react';

/** The reader's choice: follow the system, or force light or dark. Kept in this browser. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'vigil.theme';
const CHANGED = 'vigil-theme-changed';
const darkQuery = () => window.matchMedia('(prefers-color-scheme: dark)');

export function themeChoice(): ThemeChoice {
  const saved = localStorage.getItem(KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

/** Applies a choice to the page (`data-theme` on <html>, read by styles.css) and remembers it. */
export function setThemeChoice(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  applyTheme();
  window.dispatchEvent(new Event(CHANGED));
}

export function applyTheme(): void {
  const choice = themeChoice();
  document.documentElement.dataset.theme = choice === 'system' ? (darkQuery().matches ? 'dark' : 'light') : choice;
}

function subscribe(onChange: () => void): () => void {
  const query = darkQuery();
  const handler = () => {
    applyTheme();
    onChange();
  };
  query.addEventListener('change', handler);
  window.addEventListener(CHANGED, onChange);
  return () => {
    query.removeEventListener('change', handler);
    window.removeEventListener(CHANGED, onChange);
  };
}

/** The theme in effect, `light` or `dark`; re-renders when the choice or the system's preference changes. */
export function useEffectiveTheme(): 'light' | 'dark' {
  return useSyncExternalStore(subscribe, () => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'));
}

/** The reader's choice, for the toggle. */
export function useThemeChoice(): ThemeChoice {
  return useSyncExternalStore(subscribe, themeChoice);
}

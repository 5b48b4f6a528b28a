import { type ThemeChoice, setThemeChoice, useThemeChoice } from '../lib/theme';

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };
const WORDS: Record<ThemeChoice, string> = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' };

/** Cycles system → light → dark. */
export function ThemeToggle() {
  const choice = useThemeChoice();
  return (
    <button type="button" className="link-button" onClick={() => setThemeChoice(NEXT[choice])} title="Change the colour theme">
      {WORDS[choice]}
    </button>
  );
}

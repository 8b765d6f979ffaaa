// Entry point: styles, state wiring (hash routing, system theme), shortcuts, then the app.
import './styles.css';
import { render } from 'preact';
import { boot, openFromHash } from './actions.ts';
import { App } from './components/App.tsx';
import { installFollow } from './follow.ts';
import { installShortcuts } from './keys.ts';
import { narrow, sidebarOpen, systemDark, themeChoice, WIDE_QUERY } from './state.ts';

window.addEventListener('hashchange', () => void openFromHash());
window.addEventListener('popstate', () => void openFromHash());
window.matchMedia(WIDE_QUERY).addEventListener('change', (e) => {
  narrow.value = !e.matches;
  sidebarOpen.value = e.matches;
});
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => {
  systemDark.value = e.matches;
  if (!themeChoice.value) document.documentElement.dataset.theme = e.matches ? 'dark' : 'light';
});
window.__tetraRender = { tokens: 0, ms: 0, flushes: 0 };
installShortcuts();
installFollow();
const root = document.getElementById('app')!;
root.replaceChildren(); // the static shell index.html paints while this script loads
render(<App />, root);
void boot();

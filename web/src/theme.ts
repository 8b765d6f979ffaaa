// Runs before first paint (a tiny blocking script in <head>): sets the theme on <html> so nothing
// flashes in the wrong colours: the "Dark mode" toggle's saved choice, else the system's
// (prefers-color-scheme; main.tsx follows later changes). The stylesheet keys its dark palette on
// data-theme alone, so it is written once.
const root = document.documentElement;
let saved: string | null = null;
try {
  saved = localStorage.getItem('tetra-theme');
} catch {
  // Storage blocked: follow the system.
}
if (saved === 'dark' || saved === 'light') root.dataset.themeChoice = saved;
root.dataset.theme = root.dataset.themeChoice ?? (window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

// Runs before first paint (a tiny blocking script in <head>): applies the theme saved by the
// "Dark mode" toggle, so a dark choice on a light system does not flash white. Without a saved
// choice the stylesheet follows prefers-color-scheme.
try {
  const saved = localStorage.getItem('tetra-theme');
  if (saved === 'dark' || saved === 'light') document.documentElement.dataset.theme = saved;
} catch {
  // Storage blocked: follow the system.
}

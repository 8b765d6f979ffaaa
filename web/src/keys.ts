// Page-wide keyboard shortcuts (the sheet in Dialogs.tsx lists them).
import { newChat } from './actions.ts';
import { stop } from './send.ts';
import { narrow, shortcutsOpen, sidebarOpen, streamingNow } from './state.ts';
import { isTyping } from './util.ts';

const dialogOpen = () => document.querySelector('dialog[open]') !== null;

function onKeyDown(e: KeyboardEvent): void {
  if (e.defaultPrevented) return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (e.key === 'Escape' && !dialogOpen()) {
    if (e.shiftKey) {
      e.preventDefault();
      document.getElementById('composer-input')?.focus();
    } else if (streamingNow.value) {
      e.preventDefault();
      stop();
    } else if (narrow.value && sidebarOpen.value) sidebarOpen.value = false;
    return;
  }
  if (mod && e.shiftKey && key === 'o') {
    e.preventDefault();
    newChat();
    return;
  }
  if (mod && !e.shiftKey && key === 'k') {
    e.preventDefault();
    const search = () => document.getElementById('search-input')?.focus();
    if (sidebarOpen.value) search();
    else {
      sidebarOpen.value = true;
      requestAnimationFrame(search); // once the sidebar is shown
    }
    return;
  }
  if (e.key === '?' && !mod && !e.altKey && !isTyping(e.target) && !dialogOpen()) {
    e.preventDefault();
    shortcutsOpen.value = true;
  }
}

export function installShortcuts(): void {
  document.addEventListener('keydown', onKeyDown);
}

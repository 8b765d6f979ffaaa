// The top bar: sidebar toggle, chat title, model picker, usage meter, chat settings, theme.
import { detail, settingsOpen, sidebarOpen, systemDark, themeChoice } from '../state.ts';
import { MenuIcon, MoonIcon, SlidersIcon, SunIcon } from './icons.tsx';
import { ModelPicker } from './ModelPicker.tsx';
import { UsageMeter } from './Usage.tsx';

function ThemeToggle() {
  const dark = themeChoice.value ? themeChoice.value === 'dark' : systemDark.value;
  const toggle = () => {
    const next = dark ? 'light' : 'dark';
    themeChoice.value = next;
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem('tetra-theme', next);
    } catch {
      // not saved: lasts for this page
    }
  };
  return (
    <button type="button" class="icon-btn" aria-label="Dark mode" aria-pressed={dark} title="Dark mode" onClick={toggle}>
      {dark ? <MoonIcon /> : <SunIcon />}
    </button>
  );
}

export function Header() {
  const title = detail.value?.conversation.title || 'New chat';
  return (
    <header class="topbar">
      <button
        type="button"
        class="icon-btn"
        id="sidebar-toggle"
        aria-label="Toggle sidebar"
        aria-expanded={sidebarOpen.value}
        aria-controls="sidebar"
        onClick={() => (sidebarOpen.value = !sidebarOpen.value)}
      >
        <MenuIcon />
      </button>
      <h1 class="title">{title}</h1>
      <ModelPicker />
      <UsageMeter />
      <button
        type="button"
        class="icon-btn"
        aria-label="Chat settings"
        title="Chat settings"
        aria-expanded={settingsOpen.value}
        aria-controls="chat-settings"
        onClick={() => (settingsOpen.value = !settingsOpen.value)}
      >
        <SlidersIcon />
      </button>
      <ThemeToggle />
    </header>
  );
}

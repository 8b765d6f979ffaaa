// The page: loading, sign-in, or the app shell (sidebar, header, chat, composer, dialogs).
import { useEffect, useRef } from 'preact/hooks';
import { announcement, bootError, detail, narrow, session, settingsOpen, sidebarOpen, toast } from '../state.ts';
import { ChatSettings } from './ChatSettings.tsx';
import { ChatView } from './ChatView.tsx';
import { Composer } from './Composer.tsx';
import { ConfirmDeleteDialog, ShortcutsDialog } from './Dialogs.tsx';
import { Header } from './Header.tsx';
import { Sidebar } from './Sidebar.tsx';
import { SignIn } from './SignIn.tsx';
import { CapBanner } from './Usage.tsx';

function Shell() {
  const t = toast.value;
  const title = detail.value?.conversation.title;
  const column = useRef<HTMLDivElement>(null);
  const drawer = narrow.value && sidebarOpen.value;
  useEffect(() => {
    document.title = title ? `${title} · tetra` : 'tetra chat';
  }, [title]);
  // On a phone the open drawer is modal: the chat behind it is inert and focus moves into the
  // drawer; closing it (Esc, a tap outside, picking a chat) brings focus back to the toggle.
  const wasDrawer = useRef(false);
  useEffect(() => {
    if (column.current) column.current.inert = drawer;
    const a = document.activeElement;
    const inDrawer = !!a && !!document.getElementById('sidebar')?.contains(a);
    if (drawer && !inDrawer) document.querySelector<HTMLElement>('#sidebar .new-chat')?.focus();
    else if (!drawer && wasDrawer.current && (inDrawer || !a || a === document.body)) {
      document.getElementById('sidebar-toggle')?.focus();
    }
    wasDrawer.current = drawer;
  }, [drawer]);
  return (
    <div class={sidebarOpen.value ? 'app sidebar-open' : 'app'}>
      <Sidebar />
      {sidebarOpen.value && (
        // A tap beside the drawer closes it (narrow screens; hidden on wide ones). Keyboard: Esc.
        <div class="backdrop" aria-hidden="true" onClick={() => (sidebarOpen.value = false)} />
      )}
      <div class="column" ref={column}>
        <Header />
        <main class="main">
          <CapBanner />
          {settingsOpen.value && <ChatSettings />}
          <ChatView />
          <Composer />
          <div class="toast" role="status">
            {t?.kind === 'info' ? t.text : ''}
          </div>
          <div class="toast error" role="alert">
            {t?.kind === 'error' ? t.text : ''}
          </div>
          <div class="visually-hidden" role="status">
            {announcement.value}
          </div>
        </main>
      </div>
      <ShortcutsDialog />
      <ConfirmDeleteDialog />
    </div>
  );
}

export function App() {
  if (bootError.value) {
    return (
      <main class="boot">
        <p role="alert">The chat server did not answer: {bootError.value}</p>
        <button type="button" class="primary" onClick={() => location.reload()}>
          Try again
        </button>
      </main>
    );
  }
  const s = session.value;
  if (!s) {
    return (
      <main class="boot" aria-busy="true">
        <div class="boot-shell">
          <span class="brand-mark" aria-hidden="true">
            t
          </span>
          tetra
        </div>
      </main>
    );
  }
  if (s.auth === 'password' && !s.user) return <SignIn />;
  return <Shell />;
}

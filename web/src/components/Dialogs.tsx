// The page's dialogs: the keyboard shortcut sheet and the delete confirmation.
import { deleteConversation } from '../actions.ts';
import { confirmDelete, shortcutsOpen } from '../state.ts';
import { Dialog } from './Dialog.tsx';

const SHORTCUTS: [string, string][] = [
  ['Enter', 'Send'],
  ['Shift + Enter', 'New line'],
  ['Esc', 'Stop the answer'],
  ['Ctrl + Shift + O', 'New chat'],
  ['Ctrl + K', 'Search chats'],
  ['Shift + Esc', 'Focus the message box'],
  ['?', 'This list'],
];

export function ShortcutsDialog() {
  if (!shortcutsOpen.value) return null;
  return (
    <Dialog title="Keyboard shortcuts" onClose={() => (shortcutsOpen.value = false)}>
      <table class="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <th scope="row">
                {keys.split(' + ').map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' + '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="dialog-note">On a Mac, Cmd works where Ctrl is written.</p>
    </Dialog>
  );
}

export function ConfirmDeleteDialog() {
  const c = confirmDelete.value;
  if (!c) return null;
  const close = () => (confirmDelete.value = null);
  return (
    <Dialog title="Delete chat?" role="alertdialog" onClose={close}>
      <p>“{c.title || 'Untitled chat'}” and all its messages will be deleted for good. This cannot be undone.</p>
      <div class="dialog-actions">
        {/* biome-ignore lint/a11y/noAutofocus: a destructive confirmation starts on the safe choice */}
        <button type="button" class="secondary" autoFocus onClick={close}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => {
            close();
            void deleteConversation(c.id);
          }}
        >
          Delete
        </button>
      </div>
    </Dialog>
  );
}

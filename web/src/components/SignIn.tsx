// The sign-in form, shown when the server has users and nobody is signed in.
import { useSignal } from '@preact/signals';
import { signIn } from '../actions.ts';

export function SignIn() {
  const name = useSignal('');
  const password = useSignal('');
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      await signIn(name.value.trim(), password.value);
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
      password.value = '';
    } finally {
      busy.value = false;
    }
  };

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit}>
        <h1>
          <span class="brand-mark" aria-hidden="true">
            t
          </span>
          Sign in to tetra
        </h1>
        <label for="signin-name">Name</label>
        <input
          id="signin-name"
          name="username"
          autocomplete="username"
          required
          value={name.value}
          onInput={(e) => (name.value = e.currentTarget.value)}
        />
        <label for="signin-password">Password</label>
        <input
          id="signin-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password.value}
          onInput={(e) => (password.value = e.currentTarget.value)}
        />
        {error.value && (
          <p class="form-error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy.value}>
          Sign in
        </button>
      </form>
    </main>
  );
}

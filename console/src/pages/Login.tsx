import { useState } from 'preact/hooks';
import { ApiError, login, type User } from '../api';
import { t } from '../i18n';

export function Login({ onLogin, onLanguage }: { onLogin: (u: User) => void; onLanguage: () => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      onLogin(await login(name, password));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? `${t('loginFailed')}: ${t('wrongPassword')}` : `${t('loginFailed')}: ${(err as Error).message}`);
    }
  };
  return (
    <form class="login" onSubmit={submit}>
      <h1>{t('title')}</h1>
      <label>{t('user')}<input name="user" autoComplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
      <label>{t('password')}<input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>
      <button class="primary" type="submit">{t('login')}</button>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="button" class="link" onClick={onLanguage}>{t('language')}</button>
    </form>
  );
}

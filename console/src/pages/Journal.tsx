import { call } from '../api';
import { Problem, Table } from '../components';
import { dateTime } from '../format';
import { useLoad } from '../hooks';
import { actionLabel, t } from '../i18n';

interface JournalEntry { seq: string; at: string; actor: string; action: string; subject: string | null; reason: string | null }

/** The centre's own journal, newest first: every decision and every look at personal data, with who, when and why. */
export function Journal() {
  const journal = useLoad(() => call<JournalEntry[]>('/api/journal?limit=500'));
  return (
    <section>
      <h2>{t('journal')}</h2>
      <p class="muted">{t('journalAbout')}</p>
      <Problem text={journal.error} />
      <Table id="journal" head={['#', t('at'), t('actor'), t('action'), t('subject'), t('reason')]}
        rows={(journal.value ?? []).map((j) => [j.seq, dateTime(j.at), j.actor, actionLabel(j.action), j.subject ?? '—', j.reason ?? '—'])} />
    </section>
  );
}

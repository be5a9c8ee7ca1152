/**
 * Download an app's trials (all, one segment's, or the board's search) as CSV. The export is the
 * API's streamed GET /export/trials.csv (a file, not a GraphQL answer), sent with the session's token.
 */
import { Problem } from '../field.tsx';
import { useState } from 'react';
import type { SegmentKey } from '../gql/graphql.ts';
import { SEGMENTS } from '../segments.ts';
import { session } from '../session.ts';

export function ExportTrials({ appId, search }: { appId: string; search: string }) {
  const [segment, setSegment] = useState<SegmentKey | ''>('');
  const [state, setState] = useState<{ busy: boolean; problem: string | null }>({ busy: false, problem: null });

  async function download() {
    setState({ busy: true, problem: null });
    const query = new URLSearchParams({ appId, ...(segment ? { segment } : {}), ...(search ? { search } : {}) });
    try {
      const response = await fetch(`/export/trials.csv?${query}`, { headers: { authorization: `Bearer ${session.token() ?? ''}` } });
      if (!response.ok) throw new Error(((await response.json().catch(() => ({}))) as { error?: string }).error ?? `the export answered ${response.status}`);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await response.blob());
      link.download = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'trials.csv';
      link.click();
      URL.revokeObjectURL(link.href);
      setState({ busy: false, problem: null });
    } catch (error) {
      setState({ busy: false, problem: (error as Error).message });
    }
  }

  return (
    <div className="inline export">
      <label htmlFor="export-segment">Export as CSV</label>
      <select id="export-segment" value={segment} onChange={(event) => setSegment(event.target.value as SegmentKey | '')}>
        <option value="">Every segment</option>
        {SEGMENTS.map(({ key, label }) => (
          <option key={key} value={key}>
            {label}
          </option>
        ))}
      </select>{' '}
      <button type="button" className="secondary" disabled={state.busy} onClick={download}>
        {state.busy ? 'Exporting…' : search ? `Download the trials starting with “${search}”` : 'Download CSV'}
      </button>
      <Problem message={state.problem} />
    </div>
  );
}

/**
 * An endpoint's holdout: start one (the share of trials whose webhooks to it are held back), stop
 * it, and its report: each group's conversion among finished trials, and the difference with
 * its 95 % interval drawn against zero, "not enough data yet" said when it is so.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql/index.ts';
import type { HoldoutPanelQuery } from '../../gql/graphql.ts';
import { Field, Problem } from '../../field.tsx';
import { ErrorState, Loading } from '../../states.tsx';

const HoldoutPanelQuery = graphql(`
  query HoldoutPanel($endpointId: ID!) {
    holdoutReport(endpointId: $endpointId) {
      experiment {
        id
        percent
        startedAt
        stoppedAt
        running
      }
      exposed {
        trials
        converted
        expired
        open
        conversionRate
      }
      heldOut {
        trials
        converted
        expired
        open
        conversionRate
      }
      difference
      low
      high
      pValue
      relativeLift
      neededPerGroup
      enoughData
      verdict
    }
  }
`);

const StartHoldout = graphql(`
  mutation StartHoldout($input: StartHoldoutInput!) {
    startHoldout(input: $input) {
      experiment {
        id
      }
      errors {
        field
        message
      }
    }
  }
`);

const StopHoldout = graphql(`
  mutation StopHoldout($input: StopHoldoutInput!) {
    stopHoldout(input: $input) {
      experiment {
        id
      }
      errors {
        message
      }
    }
  }
`);

type Report = NonNullable<HoldoutPanelQuery['holdoutReport']>;
const percent = (rate: number | null | undefined) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)} %`);

export function HoldoutPanel({ endpointId, changed }: { endpointId: string; changed: () => void }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: HoldoutPanelQuery, variables: { endpointId }, requestPolicy: 'network-only' });
  const [starting, start] = useMutation(StartHoldout);
  const [stopping, stop] = useMutation(StopHoldout);
  const [share, setShare] = useState('10');
  const [problem, setProblem] = useState<string | null>(null);

  /** A mutation's outcome: its problem shown, else the report and the card read again. */
  function settle(failure: Error | undefined, errors: ReadonlyArray<{ message: string }> | undefined) {
    const message = failure?.message ?? (errors?.length ? errors.map((one) => one.message).join('; ') : null);
    setProblem(message);
    if (message) return;
    refetch({ requestPolicy: 'network-only' });
    changed();
  }

  async function startHoldout() {
    const result = await start({ input: { endpointId, percent: Number(share) } });
    settle(result.error, result.data?.startHoldout.errors);
  }

  async function stopHoldout() {
    const result = await stop({ input: { endpointId } });
    settle(result.error, result.data?.stopHoldout.errors);
  }

  if (fetching && !data) return <Loading what="the holdout" />;
  if (error) return <ErrorState error={error} />;
  const report = data?.holdoutReport ?? null;
  const running = report?.experiment.running ?? false;
  return (
    <section className="holdout" aria-label="Holdout">
      <h3>Holdout</h3>
      {running ? (
        <div className="actions">
          <p>
            {report!.experiment.percent} % of trials held out since {new Date(report!.experiment.startedAt).toLocaleString()}: their webhooks to this endpoint
            are recorded, never sent.
          </p>
          <button type="button" disabled={stopping.fetching} onClick={stopHoldout}>
            Stop the holdout
          </button>
        </div>
      ) : (
        <form
          className="actions"
          onSubmit={(event) => {
            event.preventDefault();
            void startHoldout();
          }}
        >
          <Field id={`holdout-${endpointId}`} label="Hold out (percent of trials)" hint="1 to 50; a trial is always held out or always sent to">
            <input inputMode="numeric" value={share} onChange={(event) => setShare(event.target.value)} />
          </Field>
          <button type="submit" disabled={starting.fetching}>
            Start a holdout
          </button>
        </form>
      )}
      <Problem message={problem} />
      {report ? <HoldoutResult report={report} /> : <p className="hint">No holdout yet: start one to measure what this endpoint's messages change.</p>}
    </section>
  );
}

function HoldoutResult({ report }: { report: Report }) {
  const rows = [
    ['Sent to (exposed)', report.exposed],
    ['Held out', report.heldOut],
  ] as const;
  return (
    <div className="holdout-report" role="region" aria-label="Holdout report">
      <table>
        <caption>
          Trials with a move for this endpoint since {new Date(report.experiment.startedAt).toLocaleDateString()}
          {report.experiment.running ? '' : ' (stopped)'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Trials</th>
            <th scope="col">Converted</th>
            <th scope="col">Expired</th>
            <th scope="col">Still open</th>
            <th scope="col">Conversion (finished)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, group]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{group.trials}</td>
              <td>{group.converted}</td>
              <td>{group.expired}</td>
              <td>{group.open}</td>
              <td>{percent(group.conversionRate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.difference !== null && report.low !== null && report.high !== null && (
        <IntervalDrawing difference={report.difference} low={report.low} high={report.high} />
      )}
      <p role="status">{report.verdict}</p>
      {report.difference !== null && (
        <p className="hint">
          Difference {percent(report.difference)} (95 % interval {percent(report.low)} to {percent(report.high)}), p = {report.pValue?.toFixed(4)}
          {report.relativeLift !== null && <>, relative lift {percent(report.relativeLift)}</>}
          {report.neededPerGroup !== null && <>; {report.neededPerGroup} finished trials a group would tell this difference apart</>}.
        </p>
      )}
    </div>
  );
}

/** The difference and its interval on a line through zero: the interval clear of zero is a difference shown. */
function IntervalDrawing({ difference, low, high }: { difference: number; low: number; high: number }) {
  const reach = Math.max(Math.abs(low), Math.abs(high), 0.05) * 1.15;
  const x = (value: number) => 10 + ((value + reach) / (2 * reach)) * 280;
  return (
    <svg
      className="interval"
      viewBox="0 0 300 40"
      role="img"
      aria-label={`Difference ${percent(difference)}, 95 % interval ${percent(low)} to ${percent(high)}`}
    >
      <line x1={x(0)} x2={x(0)} y1={4} y2={36} className="zero" />
      <line x1={x(low)} x2={x(high)} y1={20} y2={20} className="range" />
      <line x1={x(low)} x2={x(low)} y1={14} y2={26} className="range" />
      <line x1={x(high)} x2={x(high)} y1={14} y2={26} className="range" />
      <circle cx={x(difference)} cy={20} r={4} className="point" />
      <text x={x(0)} y={39} textAnchor="middle" fontSize="8">
        0
      </text>
    </svg>
  );
}

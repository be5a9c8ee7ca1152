/**
 * An event name's lift on conversion, as conversionDrivers measures it among finished trials: the
 * difference in conversion rate between those that did it before their outcome and those that did
 * not, with its 95 % interval and q-value; and the one click that proposes it as the aha event
 * (the settings page opens with it added and shows what it would move, nothing saved yet).
 */
import { Link } from 'react-router';
import type { SignalsQuery } from '../../gql/graphql.ts';

export type Driver = SignalsQuery['conversionDrivers']['drivers'][number];

const points = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;

export function ConversionLift({ appId, event, driver, isAha }: { appId: string; event: string; driver: Driver | undefined; isAha: boolean }) {
  return (
    <>
      {!driver ? (
        <span className="hint">no finished trial did it</span>
      ) : driver.tooFew || driver.difference == null || driver.low == null || driver.high == null ? (
        <span className="hint">too few finished trials ({driver.trialsWith} did it)</span>
      ) : (
        <span title={`q = ${driver.qValue?.toFixed(4)}: the false-discovery rate at which this would be called a driver`}>
          {points(driver.difference)} points ({points(driver.low)} to {points(driver.high)})
          {driver.qValue !== null && driver.qValue !== undefined && driver.qValue < 0.05 && driver.low > 0 && <strong className="driver"> driver</strong>}
        </span>
      )}
      {!isAha && (
        <>
          {' '}
          <Link to={`/apps/${appId}/settings?aha=${encodeURIComponent(event)}`}>Make {event} the aha event…</Link>
        </>
      )}
    </>
  );
}

/** The three states every page shows besides its content: loading, empty, and an error the API answered. */
import type { CombinedError } from 'urql';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorState({ error }: { error: CombinedError | Error }) {
  const messages = 'graphQLErrors' in error && error.graphQLErrors.length ? error.graphQLErrors.map((e) => e.message) : [error.message];
  return (
    <div className="state error" role="alert">
      <strong>The API answered with an error:</strong>
      <ul>
        {messages.map((message) => (
          <li key={message}>{message}</li>
        ))}
      </ul>
    </div>
  );
}

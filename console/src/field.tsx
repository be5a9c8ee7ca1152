/** One labelled form control with its hint, or its problem in place of the hint, tied to it for screen readers. */
import { cloneElement, type ReactElement } from 'react';

interface FieldProps {
  id: string;
  label: string;
  hint?: string;
  problem?: string | undefined;
  children: ReactElement<{ id?: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }>;
}

export function Field({ id, label, hint, problem, children }: FieldProps) {
  const describedBy = problem ? `problem-${id}` : hint ? `hint-${id}` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, 'aria-invalid': problem ? true : undefined, 'aria-describedby': describedBy })}
      {problem ? (
        <p id={`problem-${id}`} className="error" role="alert">
          {problem}
        </p>
      ) : (
        hint && (
          <p id={`hint-${id}`} className="hint">
            {hint}
          </p>
        )
      )}
    </div>
  );
}

/** A problem that belongs to a whole form or group rather than one control; nothing when there is none. */
export function Problem({ message }: { message: string | null | undefined }) {
  return message ? (
    <p className="error" role="alert">
      {message}
    </p>
  ) : null;
}

/** Names typed as a comma-separated list. */
export const commaList = (text: string): string[] =>
  text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);

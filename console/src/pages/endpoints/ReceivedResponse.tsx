/** What an endpoint answered to one attempt: its headers and body as recorded (the body truncated at 16 KB). */
export function ReceivedResponse({ headers, body }: { headers: ReadonlyArray<{ name: string; value: string }>; body?: string | null }) {
  return (
    <>
      <dl className="headers-list">
        {headers.map((header) => (
          <div key={header.name}>
            <dt>{header.name}</dt>
            <dd>{header.value}</dd>
          </div>
        ))}
      </dl>
      {body && <pre tabIndex={0}>{body}</pre>}
    </>
  );
}

/** What the demos use to talk to a running Trialcast: its GraphQL API and its Segment-compatible ingest routes. */

export interface DemoOptions {
  url: string;
  adminToken: string;
  /** Milliseconds between the demo's steps (a few seconds for people; tests go faster). */
  stepMs: number;
  log?: (line: string) => void;
}

export async function gql<T>(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length || !body.data) throw new Error(`the API answered: ${body.errors?.map((error) => error.message).join('; ') ?? response.status}`);
  return body.data;
}

export async function send(url: string, writeKey: string, path: string, message: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify(message),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

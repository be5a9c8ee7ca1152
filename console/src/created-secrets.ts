/** Secrets of apps created in this tab, in memory only (never stored): the Connect page fills its snippets with them. */
const known = new Map<string, { writeKey: string; serverToken: string }>();

export const createdSecrets = {
  remember: (appId: string, secrets: { writeKey: string; serverToken: string }) => known.set(appId, secrets),
  of: (appId: string) => known.get(appId) ?? null,
};

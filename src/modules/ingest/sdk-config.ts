/**
 * The documents browser SDKs load before they send, built for a known write key and pointing
 * back at this host (pure): Segment's `GET /v1/projects/{writeKey}/settings` (its CDN
 * settings, with only the Segment.io destination, no remote plugins, no metrics) and
 * RudderStack's `GET /sourceConfig/?writeKey=` (a source with no destinations; the SDK
 * refuses a config without `source.id`, `source.config` and `source.destinations`).
 */

/** Where this host is, as the SDK reached it: `http://127.0.0.1:4000`. */
export interface PublicHost {
  protocol: 'http' | 'https';
  host: string;
}

export function segmentSettings(writeKey: string, { protocol, host }: PublicHost) {
  return {
    integrations: {
      'Segment.io': { apiKey: writeKey, apiHost: `${host}/v1`, protocol, unbundledIntegrations: [], addBundledMetadata: false, maybeBundledConfigIds: {} },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    // Segment's own telemetry would go to api.segment.io: off.
    metrics: { sampleRate: 0, host: `${host}/v1` },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

export function rudderSourceConfig(writeKey: string, app: { id: string; name: string }) {
  return {
    isHosted: false,
    source: {
      id: app.id,
      name: app.name,
      writeKey,
      enabled: true,
      workspaceId: 'trialcast',
      config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
      destinations: [],
    },
  };
}

/** GraphQL documents the tests share, spelled as a client of the contract would. */
export const CREATE_APP = /* GraphQL */ `
  mutation CreateApp($name: String!) {
    createApp(input: { name: $name }) {
      app {
        id
        name
      }
      writeKey
      serverToken
      apiKey
      errors {
        field
        message
        code
      }
    }
  }
`;

export const START_TRIAL = /* GraphQL */ `
  mutation StartTrial($input: StartTrialInput!) {
    startTrial(input: $input) {
      trial {
        id
        userId
        email
        segment
        trialStart
        trialEnd
      }
      errors {
        field
        message
        code
      }
    }
  }
`;

export const CREATE_ENDPOINT = /* GraphQL */ `
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      endpoint {
        id
        url
        secret
        eventTypes
        enabled
      }
      errors {
        field
        message
        code
      }
    }
  }
`;

export const TRIAL = /* GraphQL */ `
  query Trial($appId: ID!, $userId: String!) {
    trial(appId: $appId, userId: $userId) {
      id
      userId
      email
      stripeCustomerId
      trialStart
      trialEnd
      segment
    }
  }
`;

export const SEGMENT_CHANGED = /* GraphQL */ `
  subscription SegmentChanged($appId: ID!, $segments: [SegmentKey!], $trialId: ID) {
    segmentChanged(appId: $appId, segments: $segments, trialId: $trialId) {
      id
      sequence
      trial {
        userId
        email
      }
      oldSegment
      newSegment
      reason
      occurredAt
    }
  }
`;

export interface CreatedApp {
  app: { id: string; name: string };
  writeKey: string;
  serverToken: string;
  apiKey: string;
}

export const CONVERT_TRIAL = /* GraphQL */ `
  mutation ConvertTrial($input: ConvertTrialInput!) {
    convertTrial(input: $input) {
      errors {
        message
      }
    }
  }
`;

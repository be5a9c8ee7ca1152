export { trialLifecycle } from './trial-lifecycle.ts';
export { deliverWebhook } from './deliver-webhook.ts';

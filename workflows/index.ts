export { trialLifecycle } from './trial-lifecycle.ts';
export { webhookLane } from './webhook-lane.ts';
export { pruneDeliveries } from './prune-deliveries.ts';
export { settingsRollout } from './settings-rollout.ts';
export { maintainEvents } from './maintain-events.ts';

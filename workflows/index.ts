export { trialLifecycle } from './trial-lifecycle.ts';

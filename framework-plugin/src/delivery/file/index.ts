/**
 * Sandbox delivery (`sip.aws.credentials=file`, the original walk-through):
 * a MountPlan's files written into the task's sandbox before it starts.
 * @packageDocumentation
 */
export { materialize, type Materialized } from './materialize.js';

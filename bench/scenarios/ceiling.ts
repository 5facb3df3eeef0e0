import { Context } from '../context';
import { CEILING_LOAD, CONNECTIONS, SECONDS, WARMUP_SECONDS } from '../settings';
import { AppProcess } from '../support/app.process';
import { ScenarioResult } from '../support/report';
import { runScenario } from './run-scenario';

/** GET /health, a route that does no work of ours: what every ratio is taken to. */
export function ceilingScenario(
  context: Context,
  id: string,
  name: string,
  app: AppProcess,
): Promise<ScenarioResult> {
  return runScenario(context, {
    id,
    name,
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    warmup: { ...CEILING_LOAD, durationSeconds: WARMUP_SECONDS },
    load: { ...CEILING_LOAD, durationSeconds: SECONDS },
  });
}

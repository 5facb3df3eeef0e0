import type { AppEnvironment } from '../app.environment';
import { MetricsEnvironment } from './metrics.environment';

export interface MetricsConfig {
  enabled: boolean;
  /**
   * A listener of its own for /metrics, without authentication (reach it only from the
   * monitoring network). Undefined: /metrics is served on the main port to operators only.
   */
  port?: number;
  host: string;
}

export function metricsConfigFromEnvironment(
  environment: MetricsEnvironment & Pick<AppEnvironment, 'PORT'>,
  problems: string[],
): MetricsConfig {
  const port = environment.METRICS_PORT;
  if (port !== undefined && port !== 0 && port === environment.PORT) {
    problems.push(`METRICS_PORT: must differ from PORT (${environment.PORT})`);
  }
  return { enabled: environment.METRICS_ENABLED, port, host: environment.METRICS_HOST };
}

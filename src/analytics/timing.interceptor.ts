import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, finalize } from 'rxjs';
import { requestContext } from '../common/request-context';
import { EventRecorder, RecordedEvent } from './events/event-recorder';

/**
 * Measures an SMS endpoint's response time and stamps it on the events the request produced,
 * which wait in the request context until then.
 */
@Injectable()
export class TimingInterceptor implements NestInterceptor {
  constructor(private readonly recorder: EventRecorder) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const context = requestContext.getStore();
    if (!context) return next.handle();
    const started = performance.now();
    const deferred = { events: [] as unknown[] };
    context.deferred = deferred;
    return next.handle().pipe(
      finalize(() => {
        context.deferred = undefined;
        const responseTimeMs = Math.round(performance.now() - started);
        for (const event of deferred.events as RecordedEvent[]) {
          this.recorder.enqueue({ ...event, responseTimeMs });
        }
      }),
    );
  }
}

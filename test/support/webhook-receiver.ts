import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A stand-in for ALERT_WEBHOOK_URL: records every POST and answers with `statuses` in turn. */
export class WebhookReceiver {
  readonly received: { body: Record<string, unknown>; contentType?: string }[] = [];
  /** Answers for the next requests; 204 once they run out. */
  statuses: number[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          contentType: request.headers['content-type'],
        });
        response.writeHead(this.statuses.shift() ?? 204).end();
      });
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/sms`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

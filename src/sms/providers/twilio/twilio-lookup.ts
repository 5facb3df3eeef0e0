import type { Twilio } from 'twilio';
import { TwilioCircuit } from './twilio-circuit';
import { toProductError } from './twilio-errors';

export interface LineInfo {
  carrier: string | null;
  /** Twilio's line type: mobile, landline, fixedVoip, nonFixedVoip, tollFree, premium… */
  type: string | null;
}

/** Twilio Lookup v2 line type intelligence (paid per call: callers cache it). */
export class TwilioLookup {
  constructor(
    private readonly client: Twilio,
    private readonly circuit: TwilioCircuit,
  ) {}

  async lineInfo(e164: string): Promise<LineInfo> {
    try {
      const result = await this.circuit.run(() =>
        this.client.lookups.v2.phoneNumbers(e164).fetch({ fields: 'line_type_intelligence' }),
      );
      const intelligence = result.lineTypeIntelligence;
      return { carrier: intelligence?.carrierName ?? null, type: intelligence?.type ?? null };
    } catch (error) {
      throw toProductError(error);
    }
  }
}

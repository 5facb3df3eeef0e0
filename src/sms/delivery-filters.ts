import { Injectable } from '@nestjs/common';
import { Purpose } from './purpose';

export interface DeliveryTarget {
  e164: string;
  phoneHash: string;
  purpose: Purpose;
}

/** Answers false when this number must not receive this code; the client is not told. */
export type DeliveryFilter = (target: DeliveryTarget) => Promise<boolean>;

/**
 * Reasons to answer a send as usual but deliver nothing: a login code for a number without an
 * account (no account enumeration, SECURITY.md item 7), a suppressed number that bounced. Other
 * modules register their filter here; the SMS module knows none of them.
 */
@Injectable()
export class DeliveryFilters {
  private readonly filters: { name: string; filter: DeliveryFilter }[] = [];

  register(name: string, filter: DeliveryFilter): void {
    this.filters.push({ name, filter });
  }

  /** The name of the first filter that refuses, or undefined when delivery may go ahead. */
  async refusal(target: DeliveryTarget): Promise<string | undefined> {
    for (const { name, filter } of this.filters) {
      if (!(await filter(target))) return name;
    }
    return undefined;
  }
}

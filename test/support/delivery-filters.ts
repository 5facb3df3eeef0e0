import { DeliveryFilter, DeliveryFilters } from '../../src/sms/delivery-filters';

/**
 * Delivery filters minus the named ones: suites about SMS mechanics (limits, delivery, analytics)
 * send login codes to numbers that have no account, which the auth module's enumeration guard
 * would otherwise (correctly) leave undelivered.
 */
export class DeliveryFiltersWithout extends DeliveryFilters {
  constructor(private readonly ignored: string[]) {
    super();
  }

  override register(name: string, filter: DeliveryFilter): void {
    if (!this.ignored.includes(name)) super.register(name, filter);
  }
}

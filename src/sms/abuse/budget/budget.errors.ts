import { ProductError } from '../../../common/errors/product-error';

/** The day's SMS spend (SMS_DAILY_BUDGET) is reached: no SMS goes out until the next UTC day. */
export class SmsBudgetExhaustedError extends ProductError {
  constructor(retryAfterSeconds: number) {
    super(
      'SMS_BUDGET_EXHAUSTED',
      'SMS delivery is temporarily unavailable. Please try again later.',
      'unavailable',
      { retryAfterSeconds },
    );
  }
}

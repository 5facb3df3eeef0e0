import { ValidateBy } from 'class-validator';

type Problem = (value: unknown, body: Record<string, unknown>) => string | undefined;

/**
 * A property check that can look at the whole body and names its own problem, for rules that
 * span fields ("code or verificationToken, not both"). Runs even when the property is absent.
 */
export function Check(name: string, problem: Problem): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (value, args) =>
        problem(value, args!.object as Record<string, unknown>) === undefined,
      defaultMessage: (args) => problem(args!.value, args!.object as Record<string, unknown>) ?? '',
    },
  });
}

export const SMS_CODE = /^[0-9]{4,10}$/;
export const VERIFICATION_TOKEN = /^vt_[A-Za-z0-9_-]{16,200}$/;

/** Exactly one of `codeField` / `tokenField`, the code being 4-10 digits. */
export function smsCodeProblem(codeField: string, tokenField: string, purpose: string): Problem {
  return (value, body) => {
    const token = body[tokenField];
    if (value === undefined) {
      return token === undefined
        ? `${codeField} (the ${purpose} code from the SMS) or ${tokenField} (from /sms/verify-code) is required`
        : undefined;
    }
    if (token !== undefined) return `send ${codeField} or ${tokenField}, not both`;
    return typeof value === 'string' && SMS_CODE.test(value)
      ? undefined
      : `${codeField} must be 4 to 10 digits`;
  };
}

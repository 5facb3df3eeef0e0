import { IsString } from 'class-validator';

/**
 * Phone numbers are text: as a JSON number, a national number would lose its leading 0 and an
 * international one its +, so the message says how to write it rather than only "a string".
 */
export const IsPhoneNumberText = (): PropertyDecorator =>
  IsString({ message: '$property must be text in quotes, e.g. "+251911234567"' });

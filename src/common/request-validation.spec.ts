import { IsString, MaxLength } from 'class-validator';
import { RequestValidationError } from './errors/product-error';
import { RequestValidationPipe } from './request-validation';

class NoteDto {
  @IsString()
  @MaxLength(5)
  text: string;
}

class OtherDto {
  @IsString()
  name: string;
}

const asBody = (metatype: new () => object) => ({ type: 'body' as const, metatype });

describe('RequestValidationPipe', () => {
  const pipe = new RequestValidationPipe();

  it('refuses unknown fields and wrong values, listing every problem', async () => {
    const refusal = await pipe
      .transform({ text: 'too long here', extra: 1 }, asBody(NoteDto))
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RequestValidationError);
    expect((refusal as RequestValidationError).details).toEqual([
      'extra: property extra should not exist',
      'text must be shorter than or equal to 5 characters',
    ]);
  });

  it('validates a body once: what validateBody returned passes the route as it is', async () => {
    const validated = await pipe.validateBody({ text: 'hi' }, NoteDto);
    expect(validated).toBeInstanceOf(NoteDto);
    await expect(pipe.transform(validated, asBody(NoteDto))).resolves.toBe(validated);
  });

  it('still validates what validateBody did not hand out, or for another DTO', async () => {
    const validated = await pipe.validateBody({ text: 'hi' }, NoteDto);
    await expect(pipe.transform(validated, asBody(OtherDto))).rejects.toBeInstanceOf(
      RequestValidationError,
    );
    await expect(pipe.transform({ text: 'hi', extra: 1 }, asBody(NoteDto))).rejects.toBeInstanceOf(
      RequestValidationError,
    );
  });

  it('refuses in validateBody exactly what the route would refuse', async () => {
    await expect(pipe.validateBody({ text: 7 }, NoteDto)).rejects.toBeInstanceOf(
      RequestValidationError,
    );
  });
});

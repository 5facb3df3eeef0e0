import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import { PhoneValidationResponseDto } from './dto/phone-validation-response.dto';
import { SupportedCountriesResponseDto } from './dto/supported-country.dto';
import { ValidatePhoneDto } from './dto/validate-phone.dto';
import { PhoneService } from './phone.service';
import { Public } from '../common/http/public.decorator';

@ApiTags('phone')
@Public()
@Controller('phone')
export class PhoneController {
  constructor(private readonly phones: PhoneService) {}

  @Get('countries')
  @ApiOperation({
    summary: 'Countries verification codes can be sent to',
    description: 'With dialing codes and an example mobile number for each, for a country picker.',
  })
  @ApiOkResponse({ type: SupportedCountriesResponseDto })
  countries(): SupportedCountriesResponseDto {
    return {
      defaultCountry: this.phones.defaultCountry(),
      countries: this.phones.supportedCountries(),
    };
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Check a phone number before sending a code to it',
    description:
      'Answers 200 for any number, valid or not: `valid` says whether it is a real number, ' +
      '`smsCapable` whether codes can be sent to it, and `reason` why not. The number is ' +
      'normalized to E.164 and formatted for display.',
  })
  @ApiOkResponse({ type: PhoneValidationResponseDto })
  @ApiBadRequestResponse({
    type: ErrorEnvelopeDto,
    description:
      'Malformed body (VALIDATION_FAILED), or a countryCode that is not a supported country ' +
      '(PHONE_COUNTRY_NOT_SUPPORTED)',
  })
  validate(@Body() body: ValidatePhoneDto): PhoneValidationResponseDto {
    return this.phones.inspect(body.phoneNumber, body.countryCode);
  }
}

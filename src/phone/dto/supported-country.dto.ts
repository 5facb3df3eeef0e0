import { ApiProperty } from '@nestjs/swagger';
import type { CountryCode } from 'libphonenumber-js/max';
import type { SupportedCountry } from '../phone.service';

export class SupportedCountryDto implements SupportedCountry {
  @ApiProperty({ type: String, description: 'ISO 3166-1 alpha-2', example: 'ET' })
  code: CountryCode;

  @ApiProperty({ description: 'Country name in English', example: 'Ethiopia' })
  name: string;

  @ApiProperty({ description: 'International dialing code', example: '+251' })
  dialingCode: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'An example mobile number in E.164',
    example: '+251911234567',
  })
  exampleNumber: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The example as displayed internationally, e.g. as an input placeholder',
    example: '+251 91 123 4567',
  })
  displayFormat: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The example as dialled inside the country',
    example: '091 123 4567',
  })
  nationalFormat: string | null;
}

export class SupportedCountriesResponseDto {
  @ApiProperty({
    type: String,
    description: 'Country assumed for national digits sent without countryCode',
    example: 'ET',
  })
  defaultCountry: CountryCode;

  @ApiProperty({ type: [SupportedCountryDto] })
  countries: SupportedCountryDto[];
}

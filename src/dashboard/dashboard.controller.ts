import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../common/http/public.decorator';
import { DashboardAssetName, DashboardAssets, DashboardFile } from './dashboard-assets';

const ONE_YEAR_SECONDS = 31_536_000;

/**
 * Whether an If-None-Match header (a list of entity tags, or `*`) names this file's version. The
 * comparison is weak, as RFC 9110 §13.1.2 prescribes for If-None-Match, so `W/` is ignored.
 */
function isUnchanged(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/**
 * The operator dashboard: a static page that asks for the admin key and reads the operator
 * routes itself. The page holds no data and no secret, so it is public; every number on it comes
 * from routes that check `Authorization: Bearer <ADMIN_API_KEY>`.
 */
@ApiExcludeController()
@Public()
@Controller('admin')
export class DashboardController {
  constructor(private readonly files: DashboardAssets) {}

  @Get()
  page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    // Revalidated on every visit, so a deploy's new asset links are picked up at once.
    this.send(request, reply, this.files.page, 'no-cache');
  }

  @Get('assets/dashboard.js')
  script(
    @Query('v') version: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    this.sendAsset('dashboard.js', version, request, reply);
  }

  @Get('assets/dashboard.css')
  styles(
    @Query('v') version: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    this.sendAsset('dashboard.css', version, request, reply);
  }

  @Get('assets/chart.js')
  chart(
    @Query('v') version: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    this.sendAsset('chart.js', version, request, reply);
  }

  private sendAsset(
    name: DashboardAssetName,
    version: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const file = this.files.asset(name);
    // Only the versioned URL is immutable; a bare or stale `?v=` must not pin old content.
    const cacheControl =
      version === file.version ? `public, max-age=${ONE_YEAR_SECONDS}, immutable` : 'no-cache';
    this.send(request, reply, file, cacheControl);
  }

  private send(
    request: FastifyRequest,
    reply: FastifyReply,
    file: DashboardFile,
    cacheControl: string,
  ): void {
    const etag = `"${file.version}"`;
    void reply.header('Cache-Control', cacheControl).header('ETag', etag);
    if (isUnchanged(request.headers['if-none-match'], etag)) {
      void reply.code(304).send();
      return;
    }
    void reply.header('Content-Type', file.contentType).send(file.body);
  }
}

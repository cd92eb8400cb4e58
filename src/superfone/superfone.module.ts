import { HttpModule, HttpService } from '@nestjs/axios';
import { Module, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AppConfig } from '../config/app-config';
import { SuperfoneClient } from './superfone.client';
import { SuperfoneHttp } from './superfone.http';
import { UpstreamBreaker } from './upstream.breaker';

/** Largest upstream body we read; the real list is a few KB. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Builds the one HTTP client for Superfone: base URL, server key header, keep-alive agents.
 * Nothing of the caller's request is forwarded: these are the only headers sent.
 */
@Module({
  imports: [
    HttpModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        baseURL: config.superfone.baseUrl,
        headers: { 'X-API-Key': config.superfone.apiKey, Accept: 'application/json' },
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 32 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 32 }),
        // We classify statuses and parse JSON ourselves, so keep axios from doing either.
        validateStatus: () => true,
        responseType: 'text' as const,
        transformResponse: [(data: string) => data],
        maxRedirects: 0,
        maxContentLength: MAX_BODY_BYTES,
        proxy: false as const,
        // Node's http module, with the keep-alive agents above. The bundle leaves out the probe
        // axios's fetch adapter runs at import (tools/bundle-deferrals.ts).
        adapter: 'http' as const,
      }),
    }),
  ],
  providers: [SuperfoneClient, SuperfoneHttp, UpstreamBreaker],
  exports: [SuperfoneClient, UpstreamBreaker],
})
export class SuperfoneModule implements OnApplicationShutdown {
  constructor(private readonly http: HttpService) {}

  /** Idle keep-alive sockets would otherwise hold the process open after shutdown. */
  onApplicationShutdown(): void {
    // axios types its agents as any; these are the ones superfone.module's factory gave it.
    const defaults = this.http.axiosRef.defaults as {
      httpAgent?: HttpAgent;
      httpsAgent?: HttpsAgent;
    };
    defaults.httpAgent?.destroy();
    defaults.httpsAgent?.destroy();
  }
}

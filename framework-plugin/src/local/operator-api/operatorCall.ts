import type Koa from 'koa';
import { readBody } from '../../net/readBody.js';

/** A plain-text answer, as Mesos writes its errors. */
export function plainText(ctx: Koa.Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = body;
}

/**
 * Reads an operator API call (`POST /api/v1`, JSON) as a Mesos master or
 * agent does (src/master/http.cpp, src/slave/http.cpp `api()`): POST only,
 * JSON (`application/x-protobuf` is understood and refused: the stand-ins
 * read JSON only), a `type` of the process's `Call.Type` enum. On a bad
 * call, answers it as Mesos would and returns undefined.
 */
export async function readOperatorCall(ctx: Koa.Context, known: ReadonlySet<string>, who: string): Promise<Record<string, any> | undefined> {
  if (ctx.method !== 'POST') return void plainText(ctx, 405, `Expecting one of { 'POST' }, but received '${ctx.method}'`);
  const type = ctx.get('content-type').split(';')[0]!.trim();
  if (type !== 'application/json' && type !== 'application/x-protobuf')
    return void plainText(ctx, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
  if (type === 'application/x-protobuf') return void plainText(ctx, 415, `Expecting 'Content-Type' of application/json (the local ${who} reads JSON only)`);
  let call: Record<string, any>;
  try {
    call = JSON.parse(await readBody(ctx.req, 64 * 1024)) as Record<string, any>;
    if (typeof call !== 'object' || call === null || typeof call.type !== 'string') throw new Error('Missing required fields: type');
  } catch (err) {
    return void plainText(ctx, 400, `Failed to parse body into Call: ${(err as Error).message}`);
  }
  if (!known.has(call.type)) {
    return void plainText(ctx, 400, `Failed to convert JSON into Call protobuf: Failed to find enum for '${String(call.type).slice(0, 64)}'`);
  }
  return call;
}

/** The logging port the scanner writes to; pino and the default JSON-lines logger both fit it. */
export interface Logger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** JSON lines on a stream (stderr by default): one object per event, `msg` and `level` included. */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr, base: Record<string, unknown> = {}): Logger {
  const write = (level: string, obj: Record<string, unknown>, msg: string): void => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...base, ...obj, msg }, errorReplacer)}\n`);
  };
  return {
    info: (obj, msg) => write('info', obj, msg),
    warn: (obj, msg) => write('warn', obj, msg),
    error: (obj, msg) => write('error', obj, msg),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    // fetch wraps the socket error ("fetch failed"); its cause says what actually happened
    const cause = value.cause instanceof Error ? errorReplacer('', value.cause) : undefined;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }), ...(cause === undefined ? {} : { cause }) };
  }
  return value;
}

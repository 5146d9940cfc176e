/** Reads all of standard input (the message for `mxsec send`), with a size cap so a runaway pipe fails. */
export async function readAll(
  stream: NodeJS.ReadableStream,
  maxBytes: number,
): Promise<{ ok: true; data: Buffer } | { ok: false; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > maxBytes) return { ok: false, message: `message larger than ${maxBytes} bytes` };
    chunks.push(buffer);
  }
  return { ok: true, data: Buffer.concat(chunks) };
}

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Accepts connections again, on the same port. */
  open(): Promise<void>;
  /** Stops accepting and drops every connection: the target is "down" for whoever connects through it. */
  cut(): Promise<void>;
  /** Delays every chunk, both ways, by this many milliseconds (0: none); bytes keep their order. */
  delay(ms: number): void;
  /** Each chunk, either way, resets its connection with this probability (0: never): dropped connections. */
  drop(probability: number): void;
}

/**
 * A TCP proxy to `target` that a test can cut and restore, slow down, or make drop connections: to take a
 * service (Redis, another role) away from one process only, or to put a bad network between two.
 */
export async function tcpProxy(target: URL, random: () => number = Math.random): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let latencyMs = 0;
  let dropProbability = 0;

  /** Forwards `from` to `to`, delayed by the current latency, never reordering what is already on its way. */
  const forward = (from: Socket, to: Socket, reset: () => void) => {
    let lastDue = 0;
    from.on('data', (chunk) => {
      if (dropProbability > 0 && random() < dropProbability) return reset();
      const due = Math.max(Date.now() + latencyMs, lastDue);
      lastDue = due;
      if (due <= Date.now()) return void to.write(chunk);
      setTimeout(() => to.destroyed || to.write(chunk), due - Date.now());
    });
    from.on('end', () => {
      const wait = Math.max(0, lastDue - Date.now());
      setTimeout(() => to.destroyed || to.end(), wait);
    });
  };

  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        const reset = () => {
          client.resetAndDestroy();
          upstream.destroy();
        };
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
          socket.on('close', () => {
            sockets.delete(socket);
            if (socket === upstream) client.destroy();
            else upstream.destroy();
          });
        }
        forward(client, upstream, reset);
        forward(upstream, client, reset);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server?.listening) return resolve();
      server.close(() => resolve());
    });
  await open();
  return {
    get port() {
      return port;
    },
    open,
    cut,
    delay: (ms) => void (latencyMs = ms),
    drop: (probability) => void (dropProbability = probability),
  };
}
